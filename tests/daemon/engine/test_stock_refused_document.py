"""A shop that refuses the stock write itself (its client's document, scopes, location) fails the flow,
after the other shops were written, so the failure shows in ``status`` and ``/healthz``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from daemon.engine.cycle import CycleCounts
from daemon.engine.flows import stock
from daemon.errors import ChannelFatalError
from daemon.model import ShopStock, StockLevel
from daemon.ports import ItemResult
from tests.daemon.engine.conftest import World, channel_settings
from tests.daemon.engine.fakes import FakeShop


class RefusingShop(FakeShop):
    async def set_stock(self, levels: Sequence[ShopStock]) -> list[ItemResult]:
        raise ChannelFatalError(
            "Shopify refused the SetQuantities document at API version 2026-10", upstream="shopify"
        )


async def test_a_refused_stock_document_fails_the_flow_after_the_other_shops(world: World) -> None:
    refusing = RefusingShop()
    world.ctx.channels = {"refusing": refusing, "shop": world.shop}
    world.ctx.settings = replace(
        world.ctx.settings, channels=(channel_settings(name="refusing"), world.ctx.settings.channel("shop"))
    )
    at = world.clock.now() - timedelta(seconds=30)
    world.ffn.stock += [StockLevel("JFSKU000001", "SKU-1", Decimal(10), version=1, updated_at=at)]
    counts = CycleCounts()
    with pytest.raises(ChannelFatalError, match="SetQuantities document at API version 2026-10"):
        await stock.run(world.ctx, counts)
    assert world.shop.stock == {"SKU-1": 10}  # the healthy shop was written all the same
