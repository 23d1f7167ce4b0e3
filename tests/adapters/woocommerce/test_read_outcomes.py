"""A product WooCommerce cannot map is left out with one ERROR line in the shared wording (daemon/ports.py), and
the pull goes on. How every shop reports an order it cannot map, a gone order and a shop it cannot read
now is tested once for all shops in tests/contracts."""

from __future__ import annotations

from loguru import logger

from daemon.clock import FakeClock
from daemon.model import Window
from sandboxes.woocommerce.state import STATE_KEY
from tests.adapters.woocommerce.conftest import ChannelFactory, Shop


async def test_an_unmappable_product_is_left_out_with_its_reason_and_the_pull_goes_on(
    shop: Shop, make_channel: ChannelFactory, clock: FakeClock
) -> None:
    start = clock.now()
    await shop.product("A-1")
    broken = await shop.product("B-1")
    await shop.product("C-1")
    shop.server.app[STATE_KEY].products[broken["id"]].weight = "about 2 kg"  # free text in wp-admin
    clock.advance(60)
    channel = make_channel(shop, weight_unit="kg", dimension_unit="cm")
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="ERROR")
    try:
        pulled = [p.sku async for p in channel.changed_products(Window(start, clock.now()))]
    finally:
        logger.remove(sink)

    assert pulled == ["A-1", "C-1"]
    assert len(lines) == 1
    assert (
        f"woocommerce product {broken['id']} sku='B-1' left out: cannot be read: WooCommerce product"
        in lines[0]
    )
