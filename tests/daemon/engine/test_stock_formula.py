"""The stock formula over every kind of open order, the pre-write re-read, and SKUs a shop does not sell."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from loguru import logger

from daemon.engine.cycle import CycleCounts
from daemon.engine.flows import orders, stock
from daemon.engine.stock import store_levels
from daemon.errors import RetryableError
from daemon.model import OrderLine, Outbound, PaymentState, ShopOrder, StockLevel, Window
from daemon.ports import UnreadableOrder
from tests.daemon.engine.conftest import World
from tests.daemon.engine.fakes import ListingShop


def ffn_level(world: World, sku: str, jfsku: str, level: int, version: int) -> None:
    at = world.clock.now() - timedelta(seconds=20)
    world.ffn.stock.append(StockLevel(jfsku, sku, Decimal(level), version=version, updated_at=at))


async def pull_and_push(world: World) -> CycleCounts:
    await orders.run(world.ctx, world.ctx.settings.channel("shop"), CycleCounts())
    counts = CycleCounts()
    await stock.run(world.ctx, counts)
    return counts


@contextmanager
def captured() -> Iterator[list[str]]:
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(f"{m.record['level'].name} {m.record['message']}"), level="INFO")
    try:
        yield lines
    finally:
        logger.remove(sink)


async def test_every_open_order_ffn_will_ship_reserves_and_orders_it_never_ships_do_not(world: World) -> None:
    shop = world.ctx.settings.channel("shop")
    rules = replace(shop.eligibility, skip_tags=frozenset({"no-ffn"}))
    world.ctx.settings = replace(world.ctx.settings, channels=(replace(shop, eligibility=rules),))
    ffn_level(world, "SKU-1", "JFSKU000001", 1000, 1)

    def line(qty: int) -> tuple[OrderLine, ...]:
        return (OrderLine("l1", "SKU-1", "Shirt", qty, Decimal(10)),)

    world.order(1, lines=line(1), payment_state=PaymentState.PENDING)  # waits for payment: reserves 1
    world.order(2, lines=line(2), hold="address check")  # held in the shop: reserves 2
    world.order(3, lines=line(4), shipping_methods=("Teleport",))  # parked: reserves 4
    world.order(4, lines=line(8), tags=("no-ffn",))  # never
    world.order(5, lines=line(16), test=True)  # never
    world.order(6, lines=line(32), cancelled=True)  # never
    world.order(7, lines=(OrderLine("l1", "SKU-1", "Shirt", 64, requires_shipping=False),))  # not shipped
    world.shop.unreadable.append(
        UnreadableOrder(
            "8", "#8", "no address", world.clock.now() - timedelta(minutes=1), lines=line(128)[:1]
        )
    )  # parked, its lines still known: reserves 128
    world.order(9, lines=line(3))  # exported long ago (fake clock): FFN holds it in its net level

    await pull_and_push(world)

    assert world.shop.stock["SKU-1"] == 1000 - 1 - 2 - 4 - 128
    assert len(world.ffn.outbounds) == 1


async def test_an_order_placed_after_the_orders_pull_is_read_just_before_the_stock_write(
    world: World,
) -> None:
    ffn_level(world, "SKU-1", "JFSKU000001", 10, 1)
    await pull_and_push(world)
    assert world.shop.stock["SKU-1"] == 10

    world.clock.advance(30)
    world.order(1, lines=(OrderLine("l1", "SKU-1", "Shirt", 2),), updated_at=world.clock.now())
    ffn_level(world, "SKU-1", "JFSKU000001", 12, 2)
    counts = CycleCounts()
    await stock.run(world.ctx, counts)  # no orders flow in between

    assert world.shop.stock["SKU-1"] == 10
    row = await world.pool.fetchrow("SELECT state FROM snapshot WHERE entity = 'order' AND external_id = '1'")
    assert row["state"] == "pending"  # queued for the orders flow as any pulled order


async def test_a_shop_whose_orders_cannot_be_re_read_gets_no_stock_write_that_pass(world: World) -> None:
    ffn_level(world, "SKU-1", "JFSKU000001", 10, 1)
    await pull_and_push(world)

    async def broken(window: Window) -> AsyncIterator[ShopOrder | UnreadableOrder]:
        raise RetryableError("shop answered 503", upstream="fake", status=503)
        yield  # pragma: no cover

    world.shop.changed_orders = broken  # type: ignore[method-assign]
    world.clock.advance(30)
    ffn_level(world, "SKU-1", "JFSKU000001", 12, 2)
    counts = CycleCounts()
    await stock.run(world.ctx, counts)
    assert world.shop.stock["SKU-1"] == 10 and counts.failed == 1  # next pass writes, with the orders


async def test_a_sku_the_shop_does_not_sell_is_reported_once_a_day_and_sent_again_only_when_it_changes(
    world: World,
) -> None:
    world.shop.known_skus = {"SKU-1"}
    ffn_level(world, "SKU-1", "JFSKU000001", 10, 1)
    ffn_level(world, "GONE", "JFSKU000009", 5, 1)
    with captured() as lines:
        counts = await pull_and_push(world)
        assert counts.skipped == 1 and counts.failed == 0
        world.clock.advance(60)
        await stock.run(world.ctx, CycleCounts())  # unchanged: not sent
        world.clock.advance(60)
        ffn_level(world, "GONE", "JFSKU000009", 6, 2)
        await stock.run(world.ctx, CycleCounts())  # changed: sent, refused again, not reported again
        world.clock.advance(86400)
        ffn_level(world, "GONE", "JFSKU000009", 7, 3)
        await stock.run(world.ctx, CycleCounts())  # a day later: reported again

    sent = [level.sku for batch in world.shop.stock_writes for level in batch if level.sku == "GONE"]
    assert sent == ["GONE", "GONE", "GONE"]
    notices = [line for line in lines if "GONE" in line]
    assert len(notices) == 2 and all(n.startswith("INFO") and "once a day" in n for n in notices)
    assert not [line for line in lines if line.startswith(("WARNING", "ERROR"))]


async def test_a_shop_that_lists_versions_is_re_read_in_full_only_for_orders_the_snapshot_lacks(
    world: World,
) -> None:
    shop = ListingShop()
    world.ctx.channels["shop"] = world.shop = shop
    ffn_level(world, "SKU-1", "JFSKU000001", 10, 1)
    for n in (1, 2, 3):
        world.order(n, lines=(OrderLine("l1", "SKU-1", "Shirt", 1),), updated_at=world.clock.now())
    await pull_and_push(world)
    assert world.shop.stock["SKU-1"] == 10 - 3

    world.clock.advance(30)
    world.order(4, lines=(OrderLine("l1", "SKU-1", "Shirt", 2),), updated_at=world.clock.now())
    shop.full_reads.clear()
    pages = shop.pages_read
    ffn_level(world, "SKU-1", "JFSKU000001", 12, 2)
    await stock.run(world.ctx, CycleCounts())  # the re-read's window still holds 1, 2 and 3

    assert shop.full_reads == ["4"] and shop.pages_read == pages
    assert world.shop.stock["SKU-1"] == 12 - 3 - 2


async def test_a_level_stored_while_the_create_is_under_way_does_not_end_the_order_s_reservation(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FFN's stock read while the outbound was being created does not show its reservation yet. The export
    time was taken before the create: such a level, stored after it, ended the reservation and the shop was
    shown the order's units again (oversold until FFN's next stock change)."""
    world.clock.advance((datetime.now(UTC) - world.clock.now()).total_seconds())  # the database's clock
    world.order(1, lines=(OrderLine("l1", "SKU-1", "Shirt", 7, Decimal(10)),))
    create = world.ffn.create_outbound

    async def slow_create(outbound: Outbound) -> str:
        async with world.pool.acquire() as conn:  # the FFN stock job, meanwhile: FFN's level before this
            level = StockLevel("JFSKU000001", "SKU-1", Decimal(1000), version=1, updated_at=world.clock.now())
            await store_levels(world.ctx, conn, [level])
        world.clock.advance(30)  # FFN's answer takes a moment (generous: a loaded test machine)
        return await create(outbound)

    monkeypatch.setattr(world.ffn, "create_outbound", slow_create)
    await orders.run(world.ctx, world.ctx.settings.channel("shop"), CycleCounts())
    await stock.push_to_shops(world.ctx, CycleCounts())
    assert world.shop.stock["SKU-1"] == 1000 - 7
