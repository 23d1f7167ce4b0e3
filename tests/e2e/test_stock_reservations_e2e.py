"""The stock formula end to end: open orders FFN will ship keep their units out of the shops, an order placed
between our pull and our write is not overwritten, and a SKU the shop does not sell is not retried."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from loguru import logger

from daemon.model import ShopOrder, ShopStock, Window
from daemon.ports import UnreadableOrder
from daemon.scheduler import run_all_once
from sandboxes.world.running import InProcessSandbox
from tests.e2e.stack import Stack, stack
from tests.e2e.world import ADDRESS, ref, seed_catalogue

MUG_X2 = [{"sku": "MUG", "qty": 2, "price": "12.50"}]


async def run_flows(s: Stack, *flows: str) -> bool:
    """Only these flows, once, after crossing a second boundary (windows end on whole seconds)."""
    await asyncio.sleep(1.05 - (time.time() % 1))
    return await run_all_once([j for j in s.runtime.jobs if j.flow in flows])


async def shop_mug(s: Stack, shop: InProcessSandbox) -> int:
    return int((await s.control(shop, "GET", "stock"))["MUG"])


async def start_with_mugs(s: Stack, shop: InProcessSandbox, level: int) -> None:
    await seed_catalogue(s, shop)
    await s.settle(1)  # products reach FFN
    await s.control(s.ffn, "PUT", "stock/MUG", {"level": level})
    await s.settle(1)
    assert await shop_mug(s, shop) == level


@pytest.mark.parametrize("kind", ["shopware", "woocommerce", "shopify"])
async def test_three_unpaid_orders_keep_six_units_out_of_the_shop_until_paid_or_cancelled(
    kind: str, tmp_path: Path, pg_dsn: str
) -> None:
    async with stack(tmp_path, pg_dsn, [kind]) as s:
        shop = s.shops[f"{kind}-main"]
        await start_with_mugs(s, shop, 10)
        unpaid = {"lines": MUG_X2, "paid": False, "shipping_method": "Standard", "address": ADDRESS}
        if kind == "woocommerce":
            unpaid["status"] = "on-hold"  # a bank transfer awaiting payment: WooCommerce takes the stock
        orders = [await s.control(shop, "POST", "orders", unpaid) for _ in range(3)]
        await s.settle(2)
        assert await s.control(s.ffn, "GET", "outbounds") == []  # unpaid: nothing exported
        assert await shop_mug(s, shop) == 4  # 10 in FFN − 3 × 2 waiting for payment

        if kind != "shopify":  # the Shopify sandbox has no way to pay an order later
            await s.control(shop, "PATCH", f"orders/{ref(orders[0])}", {"paid": True})
            await s.settle(2)
            assert len(await s.control(s.ffn, "GET", "outbounds")) == 1
            assert await shop_mug(s, shop) == 4  # FFN now holds that one (8 available) − 2 × 2 still waiting

        await s.control(shop, "POST", f"orders/{ref(orders[1])}/cancel")
        await s.settle(2)
        assert await shop_mug(s, shop) == 6  # 8 − the last unpaid 2 (Shopify, never paid: 10 − 2 × 2 unpaid)


@pytest.mark.parametrize("kind", ["shopware", "woocommerce"])
async def test_an_order_placed_between_the_orders_pull_and_the_stock_write_is_not_oversold(
    kind: str, tmp_path: Path, pg_dsn: str
) -> None:
    async with stack(tmp_path, pg_dsn, [kind]) as s:
        shop = s.shops[f"{kind}-main"]
        await start_with_mugs(s, shop, 10)
        channel = s.runtime.contexts[0].channels[f"{kind}-main"]
        timeline = _instrument(channel)

        # A customer buys 2 while FFN books in 2 more: the orders flow has not read the order yet.
        await s.control(
            shop, "POST", "orders",
            {"lines": MUG_X2, "paid": True, "shipping_method": "Standard", "address": ADDRESS},
        )  # fmt: skip
        assert await shop_mug(s, shop) == 8  # the shop took the 2 at checkout
        await s.control(s.ffn, "PUT", "stock/MUG", {"level": 12})
        assert await run_flows(s, "stock")

        assert await shop_mug(s, shop) == 10  # 12 in FFN − the new order's 2, not 12
        reread_done, write_start, write_done = timeline["reread_done"], timeline["write"], timeline["written"]
        # The window that remains: from the shop's answer to the re-read until our write lands.
        window_ms = (write_done - reread_done) * 1000
        print(
            f"race window left on {kind} sandbox: {window_ms:.1f} ms (write itself {(write_done - write_start) * 1000:.1f} ms)"
        )
        assert window_ms < 1000


def _instrument(channel: Any) -> dict[str, float]:
    """Timestamps of the re-read and the write, taken around the real adapter calls."""
    timeline: dict[str, float] = {}
    read, write = channel.changed_orders, channel.set_stock

    async def changed_orders(window: Window) -> AsyncIterator[ShopOrder | UnreadableOrder]:
        async for order in read(window):
            yield order
        timeline["reread_done"] = time.monotonic()

    async def set_stock(levels: list[ShopStock]) -> Any:
        timeline["write"] = time.monotonic()
        result = await write(levels)
        timeline["written"] = time.monotonic()
        return result

    channel.changed_orders, channel.set_stock = changed_orders, set_stock
    return timeline


async def test_a_sku_shopware_does_not_sell_is_settled_and_reported_once_not_retried_every_cycle(
    tmp_path: Path, pg_dsn: str
) -> None:
    # The merchant's catalogue comes from Shopify; the Shopware shop sells all of it but one product.
    async with stack(tmp_path, pg_dsn, ["shopify", "shopware"]) as s:
        master, shop = s.shops["shopify-main"], s.shops["shopware-main"]
        await seed_catalogue(s, master)
        await seed_catalogue(s, shop)
        await s.control(
            master, "POST", "products", {"sku": "ONLY-ELSEWHERE", "name": "Elsewhere", "price": "5"}
        )
        await s.settle(1)  # products reach FFN
        await s.control(s.ffn, "PUT", "stock/ONLY-ELSEWHERE", {"level": 5})
        await s.control(s.ffn, "PUT", "stock/MUG", {"level": 10})
        with capture_logs() as lines:
            await s.settle(1)
            assert await shop_mug(s, shop) == 10
            await s.mark()
            await s.settle(3)
        assert await s.writes_since_mark(shop) == []
        asked = [
            c for c in await s.requests(shop, s.marks[shop.url]) if "ONLY-ELSEWHERE" in c["request_body"]
        ]
        assert asked == []  # not looked up again either
        notices = [line for line in lines if "ONLY-ELSEWHERE" in line]
        assert len(notices) == 1 and "INFO" in notices[0] and "reported once a day" in notices[0]
        row = await s.db.pool.fetchrow(
            "SELECT failure, reported_at FROM shop_stock WHERE channel = 'shopware-main' AND sku = 'ONLY-ELSEWHERE'"
        )
        assert row["failure"] == "unknown_sku" and row["reported_at"] is not None
        assert (await s.control(master, "GET", "stock"))["ONLY-ELSEWHERE"] == 5  # the shop that sells it


@contextmanager
def capture_logs() -> Iterator[list[str]]:
    lines: list[str] = []
    sink = logger.add(
        lambda message: lines.append(f"{message.record['level'].name} {message}"), level="DEBUG"
    )
    try:
        yield lines
    finally:
        logger.remove(sink)


async def test_exporting_an_order_never_hands_its_units_out_while_ffn_stock_trails(
    tmp_path: Path, pg_dsn: str
) -> None:
    async with stack(tmp_path, pg_dsn, ["shopware"]) as s:
        shop = s.shops["shopware-main"]
        await start_with_mugs(s, shop, 10)
        await s.mark()
        for _ in range(3):
            paid = {"lines": MUG_X2, "paid": True, "shipping_method": "Standard", "address": ADDRESS}
            await s.control(shop, "POST", "orders", paid)
            await s.settle(2)
        assert len(await s.control(s.ffn, "GET", "outbounds")) == 3
        written = [
            item["stock"]
            for call in await s.writes_since_mark(shop)
            for op in orjson.loads(call["request_body"] or "null") or []
            if isinstance(op, dict)
            for item in op.get("payload") or []
        ]
        # Each export: our reservation ends as FFN's begins; the shop never sees the 2 units come back.
        assert written and max(written) <= 8, written
        assert await shop_mug(s, shop) == 4


async def test_an_order_ffn_sync_cannot_read_keeps_the_lines_it_could_read_reserved(
    tmp_path: Path, pg_dsn: str
) -> None:
    from sandboxes.shopware import SHOP_KEY

    async with stack(tmp_path, pg_dsn, ["shopware"]) as s:
        shop = s.shops["shopware-main"]
        await start_with_mugs(s, shop, 10)
        order = await s.control(
            shop, "POST", "orders",
            {"lines": MUG_X2, "paid": True, "shipping_method": "Standard", "address": ADDRESS},
        )  # fmt: skip
        # A payload the mapping does not foresee (here: its currency cannot be resolved).
        row = shop.app[SHOP_KEY].store.get("order", order["id"])
        row["currencyId"] = "0" * 32
        await s.settle(2)

        state = await s.db.pool.fetchrow("SELECT state, reason_code FROM snapshot WHERE entity = 'order'")
        assert (state["state"], state["reason_code"]) == ("failed", "unreadable_order")
        assert await shop_mug(s, shop) == 8  # 10 in FFN − the parked order's 2 (Shopware took them too)
