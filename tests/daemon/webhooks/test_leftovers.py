"""Webhooks of channels no longer configured with them: deleted at the shop (one INFO line each) and
forgotten; when the merchant file no longer has the channel, a WARNING says what remains where and how to
delete it by hand; a shop that cannot be reached keeps the row for a retry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from daemon.monitor.metrics import SyncMetrics
from daemon.store.webhooks import registrations
from daemon.webhooks.leftovers import ShopAccess, remove_leftovers
from daemon.webhooks.registration import Registrar, Target
from daemon.webhooks.types import WebhookCredentials, WebhookSupport
from tests.daemon.webhooks.fake import SECRET, FakeWebhooks

PREFIX = "https://sync.example.com/webhooks/acme/shop"
SHOP = "https://shop.example.com"


def lines(records: list[Any], level: str) -> list[str]:
    return [r["message"] for r in records if r["level"].name == level]


async def registered(pool: asyncpg.Pool, support: FakeWebhooks, channel: str = "shop") -> None:
    target = Target(
        "acme", channel, "woocommerce", support, WebhookCredentials(secrets=(SECRET,)),
        ("orders/create", "orders/updated"), PREFIX if channel == "shop" else f"{PREFIX}-{channel}",
        shop_url=SHOP,
    )  # fmt: skip
    assert await Registrar(pool, metrics=SyncMetrics()).register_once(target)


def access(support: WebhookSupport | None, prefix: str | None = PREFIX) -> ShopAccess:
    @asynccontextmanager
    async def opened() -> AsyncIterator[WebhookSupport | None]:
        yield support

    return ShopAccess(SHOP, prefix, "webhooks switched off for the channel", opened)


async def test_switched_off_deletes_ours_one_info_line_each_and_forgets_the_channel(
    pool: asyncpg.Pool, records: list[Any]
) -> None:
    support = FakeWebhooks()
    await registered(pool, support)
    records.clear()
    assert await remove_leftovers(pool, set(), lambda m, c, kind: access(support))
    assert support.subscriptions == {}
    assert support.calls[-1] == (PREFIX, (), PREFIX)
    assert lines(records, "INFO") == [
        "webhooks of acme/shop: deleted orders/create at the shop (webhooks switched off for the channel)",
        "webhooks of acme/shop: deleted orders/updated at the shop (webhooks switched off for the channel)",
    ]
    assert await registrations(pool) == []


async def test_wanted_channels_and_channels_never_registered_ask_no_shop(pool: asyncpg.Pool) -> None:
    support = FakeWebhooks()
    await registered(pool, support)
    calls = len(support.calls)
    assert await remove_leftovers(pool, {("acme", "shop")}, lambda m, c, kind: access(support))
    assert len(support.calls) == calls and len(support.subscriptions) == 2
    assert len(await registrations(pool)) == 1


async def test_a_channel_gone_from_the_file_is_a_warning_naming_shop_ids_and_how_to_delete(
    pool: asyncpg.Pool, records: list[Any]
) -> None:
    support = FakeWebhooks()
    await registered(pool, support)
    assert await remove_leftovers(pool, set(), lambda m, c, kind: None)
    (warning,) = lines(records, "WARNING")
    assert "acme/shop" in warning and f"woocommerce shop {SHOP}" in warning
    assert "orders/create (id id-orders/create)" in warning and "orders/updated" in warning
    assert "Settings → Advanced → Webhooks" in warning and "force=true" in warning
    assert SECRET.reveal() not in warning
    assert await registrations(pool) == []  # not repeated at the next reload
    assert len(support.subscriptions) == 2  # nobody could reach the shop


async def test_a_channel_now_at_another_shop_leaves_the_old_shop_with_a_warning(
    pool: asyncpg.Pool, records: list[Any]
) -> None:
    support = FakeWebhooks()
    await registered(pool, support)
    moved = ShopAccess("https://other.example.com", PREFIX, "webhooks switched off", access(support).open)
    assert await remove_leftovers(pool, set(), lambda m, c, kind: moved)
    (warning,) = lines(records, "WARNING")
    assert SHOP in warning and len(support.subscriptions) == 2


async def test_a_shop_that_cannot_be_reached_keeps_the_row_for_a_retry(
    pool: asyncpg.Pool, records: list[Any]
) -> None:
    support = FakeWebhooks()
    await registered(pool, support)
    support.failing = ConnectionError("shop down")
    assert not await remove_leftovers(pool, set(), lambda m, c, kind: access(support))
    assert "could not delete ours at the shop" in lines(records, "WARNING")[-1]
    assert len(await registrations(pool)) == 1
    support.failing = None
    assert await remove_leftovers(pool, set(), lambda m, c, kind: access(support))
    assert support.subscriptions == {} and await registrations(pool) == []
