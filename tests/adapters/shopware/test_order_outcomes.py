"""The one way every shop reports an order (daemon/ports.py), here for Shopware against its sandbox:
mapped → ShopOrder; exists but unmappable → UnreadableOrder (pull and get_order alike); gone → None;
cannot be read now → a typed error, never None."""

from __future__ import annotations

import pytest

from adapters.shopware import ShopwareChannel
from daemon.clock import FakeClock
from daemon.errors import RetryableError
from daemon.model import ShopOrder, Window
from daemon.ports import UnreadableOrder
from tests.adapters.shopware.conftest import Sandbox


async def test_an_unmappable_order_is_unreadable_in_the_pull_and_in_get_order(
    sandbox: Sandbox, channel: ShopwareChannel, clock: FakeClock
) -> None:
    await sandbox.product("A")
    start = clock.now()
    good = await sandbox.order(("A", 1))
    bad = await sandbox.order(("A", 2))
    # The currency the order points at is gone (deleted by a plugin): the association comes back empty.
    row = sandbox.shop.store.get("order", bad["id"])
    assert row is not None
    row["currencyId"] = "f" * 32
    clock.advance(60)

    pulled = [o async for o in channel.changed_orders(Window(start, clock.now()))]
    got = await channel.get_order(bad["id"])

    assert [o.order_id for o in pulled] == [good["id"], bad["id"]]
    assert isinstance(pulled[0], ShopOrder)
    unreadable = pulled[1]
    assert isinstance(unreadable, UnreadableOrder)
    assert unreadable.reason == (
        f"cannot be read: order {bad['number']}: the currency association is missing (isoCode)"
    )
    assert unreadable.number == bad["number"] and unreadable.updated_at is not None
    assert [(line.sku, line.quantity) for line in unreadable.lines] == [("A", 2)]  # stock stays reserved
    assert got == unreadable  # get_order reports it the same way (it used to raise RecordError)


async def test_a_missing_order_is_none_and_an_unavailable_shop_an_error(
    sandbox: Sandbox, channel: ShopwareChannel
) -> None:
    assert await channel.get_order("0" * 32) is None
    await sandbox.control("PUT", "faults", {"rate": 1.0, "statuses": [503], "retry_after_s": 0})
    with pytest.raises(RetryableError):
        await channel.get_order("0" * 32)
