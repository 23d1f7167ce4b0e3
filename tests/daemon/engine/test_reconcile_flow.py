from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from loguru import logger

from daemon.engine.cycle import CycleCounts
from daemon.engine.flows import orders, reconcile, stock
from daemon.model import StockLevel
from tests.daemon.engine.conftest import World


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
