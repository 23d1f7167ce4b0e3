"""Webhooks of channels no longer configured with them: deleted at the shop at start and every reload.

``webhook_registrations`` says what we registered and under which address. A row whose channel is not among
the wanted ones (webhooks switched off, the channel disabled, removed from the merchant file, or
``[webhooks] public_url`` unset) is a leftover: with the channel's credentials still in the merchant file
ours are deleted at the shop (only ours: ``is_ours``), one INFO line each, and the row goes. Without them
the shop cannot be reached: a WARNING names the shop, the subscriptions and how to delete them by hand, and
the row goes too (the warning is not repeated at every reload).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

import asyncpg
from loguru import logger

from daemon.secrets import redact
from daemon.store import webhooks as store
from daemon.store.webhooks import Registration
from daemon.webhooks.credentials import URL_TOKEN_KINDS
from daemon.webhooks.types import WebhookCredentials, WebhookSupport


@dataclass(frozen=True)
class ShopAccess:
    """A channel of the merchant file whose webhooks are not wanted, and how to reach its shop."""

    shop_url: str
    address_prefix: str | None  # where ours would be under today's public_url (None: unset)
    why: str  # e.g. "webhooks switched off for the channel"
    open: Callable[[], AbstractAsyncContextManager[WebhookSupport | None]]  # closes its client on exit


Connect = Callable[[str, str, str], ShopAccess | None]
"""(merchant, channel, kind) → the shop's access from the merchant file; None when the file no longer has that
channel (of that kind): its credentials are gone."""

BY_HAND = {
    "shopify": (
        "the Shopify admin does not list an app's subscriptions: delete each with the app's Admin API token"
        " (mutation webhookSubscriptionDelete(id: ...)) or uninstall the app; Shopify also drops a"
        " subscription whose deliveries keep failing (ffn-sync answers them 404)"
    ),
    "woocommerce": (
        "WooCommerce admin → Settings → Advanced → Webhooks, or DELETE /wp-json/wc/v3/webhooks/<id>?force=true"
    ),
    "shopware": "Admin API: DELETE /api/webhook/<id> (the administration has no webhook page)",
}


async def remove_leftovers(pool: asyncpg.Pool, wanted: Collection[tuple[str, str]], connect: Connect) -> bool:
    """One pass over the leftovers; True when none is left to retry. Never raises (but cancellation)."""
    try:
        rows = await store.registrations(pool)
    except Exception as exc:
        logger.warning("webhooks of removed channels: cannot read their registrations: {}", exc)
        return False
    done = True
    for row in rows:
        if (row.merchant_id, row.channel) in wanted:
            continue
        done = await _remove(pool, row, connect) and done
    return done


async def _remove(pool: asyncpg.Pool, row: Registration, connect: Connect) -> bool:
    label = f"{row.merchant_id}/{row.channel}"
    access = connect(row.merchant_id, row.channel, row.kind)
    if access is not None and row.shop_url is not None and access.shop_url != row.shop_url:
        access = None  # the channel points at another shop now: ours stay at the old one
    if access is None:
        _left_behind(label, row)
        await store.forget_registration(pool, row.merchant_id, row.channel)
        return True
    prefixes = [p for p in dict.fromkeys((row.address_prefix, access.address_prefix)) if p is not None]
    try:
        async with access.open() as support:
            if support is not None:  # None: this build has no webhooks for the kind, so none were made
                for prefix in prefixes:
                    report = await support.register(prefix, (), WebhookCredentials(), address_prefix=prefix)
                    for topic in report.removed:
                        logger.info("webhooks of {}: deleted {} at the shop ({})", label, topic, access.why)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        logger.warning(
            "webhooks of {}: could not delete ours at the shop ({}), retried later: {}",
            label,
            access.why,
            redact(f"{type(exc).__name__}: {exc}"),
        )
        return False
    await store.forget_registration(pool, row.merchant_id, row.channel)
    return True


def _left_behind(label: str, row: Registration) -> None:
    if not row.subscriptions:
        logger.debug("webhooks of {}: channel gone, nothing registered on record; forgotten", label)
        return
    listed = ", ".join(f"{s.get('topic')} (id {s.get('remote_id')})" for s in row.subscriptions)
    shop = (
        f"{row.kind} shop {row.shop_url}" if row.shop_url else f"its {row.kind} shop (address not recorded)"
    )
    logger.warning(
        "webhooks of {}: the channel is no longer in the merchant file, so ffn-sync cannot reach {} to delete"
        " its {} webhook(s) there: {}; they call {}; delete them by hand: {}. ffn-sync forgets them now"
        " (this warning is not repeated)",
        label,
        shop,
        len(row.subscriptions),
        listed,
        _calls(row),
        BY_HAND.get(row.kind, "in the shop's administration"),
    )


def _calls(row: Registration) -> str:
    if row.address_prefix is None:
        return "the receiver"
    return row.address_prefix + ("/<token>" if row.kind in URL_TOKEN_KINDS else "")
