"""Webhook health per channel, for ``status``, ``webhooks`` and ``check``: healthy, silent, unregistered, off.

"Silent": registered, but no delivery for ``[webhooks].silent_after`` × the channel's ``expected_every_s``
(counted from the last delivery, or from when the registration began). Polling covers a silent channel;
the operator should look at the shop's webhook page (disabled? deleted?) and the proxy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from daemon.config import AppConfig
from daemon.store.webhooks import Registration, registrations

HEALTHY = "healthy"
SILENT = "silent"
UNREGISTERED = "unregistered"
OFF = "off"


def webhook_health(
    enabled: bool, registration: Registration | None, *, silent_after_s: float, now: datetime
) -> str:
    if not enabled:
        return OFF
    if registration is None or registration.state != "registered":
        return UNREGISTERED
    since = registration.last_delivery_at or registration.registered_since
    if since is not None and now - since > timedelta(seconds=silent_after_s):
        return SILENT
    return HEALTHY


@dataclass(frozen=True)
class WebhookStatus:
    merchant: str
    channel: str
    kind: str
    health: str
    state: str  # the registration's: pending, registered, failed, off; "-" when never registered
    topics: tuple[str, ...]
    active_at_shop: int  # subscriptions the shop listed as active at the last registration
    last_delivery_at: datetime | None
    last_registered_at: datetime | None
    last_error: str | None
    rotation_pending: bool = False  # a staged secret/token not registered at the shop yet


async def webhook_statuses(
    config: AppConfig, pool: asyncpg.Pool, now: datetime, merchant: str | None = None
) -> list[WebhookStatus]:
    """One row per configured channel with webhooks on, plus channels switched off that still have a
    registration on record."""
    rows = {(r.merchant_id, r.channel): r for r in await registrations(pool, merchant)}
    out = []
    for merchant_config in config.merchants:
        if merchant is not None and merchant_config.id != merchant:
            continue
        for channel in merchant_config.enabled_channels:
            row = rows.get((merchant_config.id, channel.name))
            enabled = channel.webhooks.enabled
            if not enabled and (row is None or row.state == "off"):
                continue
            silent_after_s = config.webhooks.silent_after * channel.webhooks.expected_every_s
            out.append(
                WebhookStatus(
                    merchant=merchant_config.id,
                    channel=channel.name,
                    kind=channel.kind,
                    health=webhook_health(enabled, row, silent_after_s=silent_after_s, now=now),
                    state=row.state if row is not None else "-",
                    topics=row.topics if row is not None else (),
                    active_at_shop=sum(1 for s in row.subscriptions if s.get("active")) if row else 0,
                    last_delivery_at=row.last_delivery_at if row else None,
                    last_registered_at=row.last_registered_at if row else None,
                    last_error=row.last_error if row else None,
                    rotation_pending=row.rotation_pending if row else False,
                )
            )
    return out
