"""The one way every shop reports what it reads (daemon/ports.py), here for Shopware against its sandbox:
an order that maps → ShopOrder; exists but cannot be mapped → UnreadableOrder (pull and get_order alike);
gone → None; cannot be read now → a typed error, never None. A product that cannot be mapped is left out
with one ERROR line in the shared wording, and the pull goes on."""

from __future__ import annotations

import pytest
from loguru import logger

from adapters.shopware import ShopwareChannel
from daemon.clock import FakeClock
from daemon.errors import RetryableError
from daemon.model import ShopOrder, Window
from daemon.ports import UnreadableOrder
from daemon.secrets import Secret
from sandboxes.shopware import CLIENT_ID, CLIENT_SECRET
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


async def test_an_unmappable_product_is_left_out_with_its_reason_and_the_pull_goes_on(
    sandbox: Sandbox, clock: FakeClock
) -> None:
    # Not the spec-checked ``channel`` fixture: a product without any name is outside the spec, which is
    # the point here (a payload the mapping cannot take).
    channel = ShopwareChannel(
        sandbox.url, client_id=CLIENT_ID, client_secret=Secret(CLIENT_SECRET), clock=clock
    )
    start = clock.now()
    await sandbox.product("A")
    broken = await sandbox.product("B")
    await sandbox.product("C")
    row = sandbox.shop.store.get("product", broken["id"])
    assert row is not None
    row["name"], row["translated"] = None, {}  # no name anywhere, not even inherited
    clock.advance(60)
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="ERROR")
    try:
        pulled = [p.sku async for p in channel.changed_products(Window(start, clock.now()))]
    finally:
        logger.remove(sink)
        await channel.aclose()

    assert pulled == ["A", "C"]  # it used to stop the whole pull at B
    assert (
        len(lines) == 1 and "shopware product" in lines[0] and "sku='B' left out: cannot be read:" in lines[0]
    )
