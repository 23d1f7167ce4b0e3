"""The one way every shop reports an order (daemon/ports.py), here for WooCommerce against its sandbox:
mapped → ShopOrder; exists but unmappable → UnreadableOrder (pull and get_order alike); gone → None;
cannot be read now → a typed error, never None."""

from __future__ import annotations

import pytest

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
