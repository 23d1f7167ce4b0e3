"""The one way every shop reports what it reads (daemon/ports.py), here for WooCommerce against its sandbox:
an order that maps → ShopOrder; exists but cannot be mapped → UnreadableOrder (pull and get_order alike);
gone → None; cannot be read now → a typed error, never None. A product that cannot be mapped is left out
with one ERROR line in the shared wording, and the pull goes on."""

from __future__ import annotations

import pytest
from loguru import logger

from daemon.clock import FakeClock
from daemon.errors import RetryableError
from daemon.model import ShopOrder, Window
from daemon.ports import UnreadableOrder
from sandboxes.woocommerce.state import STATE_KEY
from tests.adapters.woocommerce.conftest import ChannelFactory, Shop


async def test_an_unmappable_order_is_unreadable_in_the_pull_and_in_get_order(
    shop: Shop, make_channel: ChannelFactory, clock: FakeClock
) -> None:
    await shop.product("A-1")
    start = clock.now()
    good = await shop.order([("A-1", 1)])
    bad = await shop.order([("A-1", 2)])
    # An order whose creation date a plugin or an import left empty.
    shop.server.app[STATE_KEY].orders[bad["id"]].created = None
    clock.advance(60)
    channel = make_channel(shop)

    pulled = [o async for o in channel.changed_orders(Window(start, clock.now()))]
    got = await channel.get_order(str(bad["id"]))

    assert [o.order_id for o in pulled] == [str(good["id"]), str(bad["id"])]
    assert isinstance(pulled[0], ShopOrder)
    unreadable = pulled[1]
    assert isinstance(unreadable, UnreadableOrder)
    assert unreadable.reason == f"cannot be read: WooCommerce order {bad['id']}: date_created_gmt is empty"
    assert unreadable.number == str(bad["number"]) and unreadable.updated_at is not None
    assert [(line.sku, line.quantity) for line in unreadable.lines] == [("A-1", 2)]  # stock stays reserved
    assert got == unreadable  # get_order reports it the same way (it used to raise RecordError)


async def test_a_missing_order_is_none_and_an_unavailable_shop_an_error(
    shop: Shop, make_channel: ChannelFactory
) -> None:
    channel = make_channel(shop)
    assert await channel.get_order("999999") is None
    await shop.call("PUT", "/_sandbox/faults", {"rate": 1.0, "statuses": [503], "retry_after_s": 0})
    with pytest.raises(RetryableError):
        await channel.get_order("999999")


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
