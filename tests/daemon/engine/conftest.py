from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
import pytest

from daemon.clock import FakeClock
from daemon.engine.context import MerchantContext
from daemon.engine.settings import ChannelSettings, CursorSettings, EligibilityRules, MerchantSettings
from daemon.model import Address, OrderLine, PaymentState, ShopOrder
from daemon.store import create_pool, migrate
from tests.daemon.engine.fakes import FakeFulfiller, FakeShop

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)


@dataclass
class World:
    ctx: MerchantContext
    clock: FakeClock
    ffn: FakeFulfiller
    shop: FakeShop
    pool: asyncpg.Pool

    def order(self, n: int, *, lines: tuple[OrderLine, ...] | None = None, **kw: object) -> ShopOrder:
        now = self.clock.now()
        base = ShopOrder(
            order_id=str(n),
            number=f"#{n}",
            created_at=now - timedelta(minutes=1),
            updated_at=now - timedelta(minutes=1),
            currency="EUR",
            total=Decimal("20"),
            payment_state=PaymentState.PAID,
            shipping_address=Address(
                last_name="Muster", street="Weg 1", zip="50667", city="Köln", country_code="DE"
            ),
            shipping_methods=("Standard",),
            lines=lines or (OrderLine("l1", "SKU-1", "Shirt", 2, Decimal("10")),),
        )
        order = replace(base, **kw)  # type: ignore[arg-type]
        self.shop.put(order)
        return order


def channel_settings(**kw: object) -> ChannelSettings:
    defaults: dict[str, object] = {
        "name": "shop",
        "kind": "fake",
        "order_prefix": "S-",
        "shipping_map": {"Standard": "FULF0A0001"},
        "eligibility": EligibilityRules(),
        "cursor": CursorSettings(overlap_s=60, lag_s=5, first_window_s=86400),
    }
    defaults.update(kw)
    return ChannelSettings(**defaults)  # type: ignore[arg-type]


@pytest.fixture
async def world(pg_dsn: str) -> AsyncIterator[World]:
    pool = await create_pool(pg_dsn)
    await migrate(pool)
    clock = FakeClock(T0)
    ffn, shop = FakeFulfiller(), FakeShop()
    settings = MerchantSettings(
        merchant_id="acme",
        ffn_merchant_id="MERC",
        warehouse_id="FULF04XX-12345-0001",
        channels=(channel_settings(),),
        product_master="shop",
        ffn_cursor=CursorSettings(overlap_s=60, lag_s=5, first_window_s=86400),
    )
    ctx = MerchantContext(settings=settings, pool=pool, fulfiller=ffn, channels={"shop": shop}, clock=clock)
    await pool.execute(
        "INSERT INTO sku_map (merchant_id, sku, jfsku) VALUES ('acme', 'SKU-1', 'JFSKU000001')"
    )
    try:
        yield World(ctx, clock, ffn, shop, pool)
    finally:
        await pool.close()
