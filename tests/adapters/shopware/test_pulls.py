"""Changed orders: window filtering, keyset paging, get_order — client against the sandbox.

What every shop adapter must do is tested once in tests/contracts; here is what is Shopware's own.
"""

from __future__ import annotations

from datetime import timedelta

from adapters.shopware import ShopwareChannel
from daemon.clock import FakeClock
from daemon.model import PaymentState, Window
from tests.adapters.shopware.conftest import Sandbox


async def pull(channel: ShopwareChannel, window: Window) -> list[str]:
    return [order.number async for order in channel.changed_orders(window)]


async def test_window_sees_new_edited_and_paid_orders_only(
    sandbox: Sandbox, channel: ShopwareChannel, clock: FakeClock
) -> None:
    await sandbox.product("A")
    untouched = await sandbox.order(("A", 1))
    edited = await sandbox.order(("A", 1))
    paid_later = await sandbox.order(("A", 1), paid=False)
    clock.advance(3600)
    window_start = clock.now()
    fresh = await sandbox.order(("A", 1))  # a new row: updatedAt stays empty
    await sandbox.control("PATCH", f"orders/{edited['id']}", {"note": "leave at the door"})
    await sandbox.control("PATCH", f"orders/{paid_later['id']}", {"paid": True})
    clock.advance(60)
    window = Window(window_start, clock.now())
    clock.advance(60)
    await sandbox.order(("A", 1))  # after the window

    numbers = await pull(channel, window)

    assert sorted(numbers) == sorted([edited["number"], paid_later["number"], fresh["number"]])
    assert untouched["number"] not in numbers
    assert sandbox.shop.store.get("order", fresh["id"])["updatedAt"] is None  # type: ignore[index]
    paid = await channel.get_order(paid_later["id"])
    assert paid is not None and paid.payment_state is PaymentState.PAID


async def test_pages_by_auto_increment_until_a_short_page(
    sandbox: Sandbox, channel: ShopwareChannel, clock: FakeClock
) -> None:
    await sandbox.product("A")
    start = clock.now()
    created = [(await sandbox.order(("A", 1)))["number"] for _ in range(7)]
    clock.advance(1)

    numbers = await pull(channel, Window(start, clock.now()))

    assert numbers == created  # every order once, oldest first
    searches = [e.request_json() for e in sandbox.vendor_traffic() if e.path == "/api/search/order"]
    assert len(searches) == 3  # pages of 3, 3 and 1
    assert all(s["page"] == 1 and s["limit"] == 3 and s["total-count-mode"] == "none" for s in searches)
    assert "autoIncrement" not in str(searches[0]["filter"])
    assert searches[1]["filter"][-1] == {"type": "range", "field": "autoIncrement", "parameters": {"gt": 3}}
    assert searches[0]["sort"] == [{"field": "autoIncrement", "order": "ASC"}]


async def test_exact_page_multiple_needs_one_empty_page(
    sandbox: Sandbox, channel: ShopwareChannel, clock: FakeClock
) -> None:
    await sandbox.product("A")
    start = clock.now()
    for _ in range(3):
        await sandbox.order(("A", 1))
    clock.advance(1)
    assert len(await pull(channel, Window(start, clock.now()))) == 3
    assert len([e for e in sandbox.vendor_traffic() if e.path == "/api/search/order"]) == 2


async def test_an_empty_window_costs_one_request(
    sandbox: Sandbox, channel: ShopwareChannel, clock: FakeClock
) -> None:
    assert await pull(channel, Window(clock.now() - timedelta(hours=1), clock.now())) == []
    assert [e.path for e in sandbox.vendor_traffic()] == ["/api/oauth/token", "/api/search/order"]


async def test_get_order_maps_the_full_order_and_none_when_gone(
    sandbox: Sandbox, channel: ShopwareChannel
) -> None:
    await sandbox.product("A", price="19.90")
    created = await sandbox.order(
        ("A", 2),
        shipping_method="DHL Paket",
        tags=["express"],
        address={
            "first_name": "Max",
            "last_name": "Muster",
            "street": "Weg 1",
            "zip": "1010",
            "city": "Wien",
            "country_code": "AT",
            "state": "9",
            "email": "max@example.com",
            "phone": "+43 1 234",
        },
    )
    order = await channel.get_order(created["id"])
    assert order is not None
    assert (order.number, order.currency, order.shop_status) == (created["number"], "EUR", "open")
    assert order.shipping_methods == ("DHL Paket",) and order.tags == ("express",)
    assert order.shipping_address is not None and order.shipping_address.country_code == "AT"
    assert order.shipping_address.state == "AT-9" and order.email == "max@example.com"
    assert [(line.sku, line.quantity) for line in order.lines] == [("A", 2)]
    assert await channel.get_order("0" * 32) is None


async def test_every_request_asks_for_plain_json(sandbox: Sandbox, channel: ShopwareChannel) -> None:
    await channel.get_order("0" * 32)
    assert all(e.request_headers.get("Accept") == "application/json" for e in sandbox.vendor_traffic())
