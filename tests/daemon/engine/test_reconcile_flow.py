from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from loguru import logger

from daemon.engine.cycle import CycleCounts
from daemon.engine.flows import orders, reconcile, stock
from daemon.model import StockLevel
from tests.daemon.engine.conftest import World
from tests.daemon.engine.fakes import ListingShop


@pytest.fixture
def warnings() -> Any:
    lines: list[str] = []
    handler = logger.add(lambda m: lines.append(str(m)), level="WARNING", format="{message}")
    yield lines
    logger.remove(handler)


async def test_reconcile_queues_an_order_polling_missed_and_resets_stock(
    world: World, warnings: list[str]
) -> None:
    await orders.run(world.ctx, world.ctx.settings.channel("shop"), CycleCounts())  # cursor moves to now
    world.clock.advance(600)
    # An order that appears with a modified date long behind the cursor (a late commit in the shop).
    world.order(
        42,
        updated_at=world.clock.now() - timedelta(minutes=20),
        created_at=world.clock.now() - timedelta(hours=2),
    )
    world.ffn.stock.append(
        StockLevel("JFSKU000001", "SKU-1", Decimal(9), updated_at=world.clock.now() - timedelta(days=3))
    )
    await orders.run(world.ctx, world.ctx.settings.channel("shop"), CycleCounts())
    assert world.ffn.outbounds == {}  # outside every polling window

    counts = CycleCounts()
    await reconcile.run(world.ctx, counts)
    assert any("polling had missed" in line and "#42" in line for line in warnings)
    # Reconcile stores FFN's full stock; the shop's own stock job writes it (one writer per shop).
    assert world.shop.stock == {}
    await stock.push(world.ctx, world.ctx.settings.channel("shop"), CycleCounts())
    assert world.shop.stock == {"SKU-1": 9 - 2}  # full stock, minus the order not yet in FFN

    await orders.run(world.ctx, world.ctx.settings.channel("shop"), CycleCounts())
    assert len(world.ffn.outbounds) == 1


async def test_reconcile_reads_in_full_only_the_orders_the_snapshot_is_behind_on(
    world: World, warnings: list[str]
) -> None:
    shop = ListingShop()
    world.ctx.channels["shop"] = world.shop = shop
    for n in (1, 2, 3):
        world.order(n, updated_at=world.clock.now() - timedelta(minutes=30))
    await orders.run(world.ctx, world.ctx.settings.channel("shop"), CycleCounts())
    world.clock.advance(600)
    now = world.clock.now()
    # Changed in the shop, and a late commit: both behind the cursor, so polling never sees them.
    world.order(2, updated_at=now - timedelta(minutes=25), note="gift wrap")
    world.order(42, updated_at=now - timedelta(minutes=20), created_at=now - timedelta(hours=2))
    await orders.run(world.ctx, world.ctx.settings.channel("shop"), CycleCounts())
    pages_by_polling = shop.pages_read

    await reconcile.run(world.ctx, CycleCounts())

    assert sorted(shop.full_reads) == ["2", "42"]  # 1 and 3 are stored at the version the shop lists
    assert shop.pages_read == pages_by_polling  # no full re-read of the week
    assert any("polling had missed" in line and "#42" in line and "#2" in line for line in warnings)
    stored = await world.pool.fetchval(
        "SELECT payload->>'note' FROM snapshot WHERE merchant_id = 'acme' AND external_id = '2'"
    )
    assert stored == "gift wrap"


async def test_reconcile_leaves_what_the_cursor_has_not_reached_to_polling(world: World) -> None:
    shop = ListingShop()
    world.ctx.channels["shop"] = world.shop = shop
    await reconcile.run(world.ctx, CycleCounts())  # never polled: nothing to reconcile yet
    assert shop.full_reads == []
    await orders.run(world.ctx, world.ctx.settings.channel("shop"), CycleCounts())
    world.clock.advance(600)
    now = world.clock.now()
    # A backlog arriving while the reconcile runs: changed after the cursor, so the next poll reads it.
    for n in (5, 6):
        world.order(n, updated_at=now - timedelta(seconds=30))
    # Behind the cursor: missed by polling, the reconcile's business.
    world.order(7, updated_at=now - timedelta(minutes=15))

    await reconcile.run(world.ctx, CycleCounts())

    assert shop.full_reads == ["7"]


async def test_a_version_found_unchanged_is_not_read_again(world: World) -> None:
    shop = ListingShop()
    world.ctx.channels["shop"] = world.shop = shop
    t0 = world.clock.now()
    order = world.order(1, updated_at=t0 - timedelta(minutes=30))
    await orders.run(world.ctx, world.ctx.settings.channel("shop"), CycleCounts())
    world.clock.advance(600)
    # Behind the cursor, Shopify moved the change time for something ffn-sync does not read (another app's
    # metafield): the snapshot keeps the older time, since nothing it holds changed.
    shop.put(replace(order, updated_at=t0 - timedelta(minutes=25)))

    await reconcile.run(world.ctx, CycleCounts())
    assert shop.full_reads == ["1"]
    world.clock.advance(3600)
    await reconcile.run(world.ctx, CycleCounts())
    assert shop.full_reads == ["1"]  # that version was read once; the next change is read again
    shop.put(replace(order, updated_at=t0 - timedelta(minutes=20), note="call first"))
    world.clock.advance(3600)
    await reconcile.run(world.ctx, CycleCounts())
    assert shop.full_reads == ["1", "1"]
