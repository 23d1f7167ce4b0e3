"""Fulfilment-order truth: FFN ships only what waits at its location, when Shopify lets it, never test orders."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest

from adapters.shopify import ShopifyChannel
from adapters.shopify.state import MemoryState
from daemon.engine.eligibility import Export, Never, Wait, decide
from daemon.engine.settings import EligibilityRules
from daemon.errors import RecordError
from daemon.model import OrderRef, Shipment, ShipmentLine, ShopOrder, Tracking, Window
from tests.adapters.shopify.conftest import Shop


async def _pull(channel: ShopifyChannel, shop: Shop, since: Any) -> list[ShopOrder]:
    found = []
    async for order in channel.changed_orders(Window(since, shop.clock.now() + timedelta(seconds=1))):
        assert isinstance(order, ShopOrder)
        found.append(order)
    return found


def _order_path(created: dict[str, Any], action: str = "") -> str:
    return f"/_sandbox/orders/{quote(created['id'], safe='')}" + (f"/{action}" if action else "")


async def test_a_held_order_waits_and_comes_back_within_one_pull_of_its_release(shop: Shop) -> None:
    await shop.product("A1", stock=5)
    state = MemoryState()
    channel = shop.channel(state=state)
    start = shop.clock.now()
    held = await shop.order([{"sku": "A1", "qty": 1}], hold="HIGH_RISK_OF_FRAUD")
    try:
        (first,) = await _pull(channel, shop, start)
        assert first.hold is not None and "on hold: HIGH_RISK_OF_FRAUD" in first.hold
        assert isinstance(decide(first, EligibilityRules(), shop.clock.now(), "shopify"), Wait)
        assert state.waiting == {held["id"]: first.hold}

        shop.clock.advance(60)
        later = shop.clock.now()
        assert await _pull(channel, shop, later) == []  # still held: nothing new
        before = (await shop.control("GET", _order_path(held)))["updatedAt"]
        await shop.control("POST", _order_path(held, "release"))
        assert (await shop.control("GET", _order_path(held)))["updatedAt"] == before  # as in Shopify
        shop.clock.advance(60)
        (released,) = await _pull(channel, shop, shop.clock.now())
    finally:
        await channel.aclose()
    assert released.order_id == held["id"] and released.hold is None
    assert [line.quantity for line in released.lines] == [1]
    assert state.waiting == {}
    # The re-check of a waiting order is cheap: one query per pull, 2 + 4 points for one order with one
    # fulfillment order (a full order read costs about 30).
    checks = [e.response_json() for e in shop.graphql_log() if "WaitingOrders" in e.request_json()["query"]]
    assert len(checks) == 2  # the pulls after the one that found it held
    assert [c["extensions"]["cost"]["actualQueryCost"] for c in checks] == [6, 6]


async def test_a_scheduled_order_waits_too(shop: Shop) -> None:
    await shop.product("A1")
    created = await shop.order([{"sku": "A1", "qty": 1}], scheduled=True)
    channel = shop.channel()
    try:
        order = await channel.get_order(created["id"])
    finally:
        await channel.aclose()
    assert order is not None and order.hold is not None and "scheduled" in order.hold


@pytest.mark.parametrize("include", [False, True])
async def test_test_orders_are_skipped_unless_the_channel_says_otherwise(shop: Shop, include: bool) -> None:
    await shop.product("A1")
    created = await shop.order([{"sku": "A1", "qty": 1}], test=True)
    channel = shop.channel(include_test_orders=include)
    try:
        order = await channel.get_order(created["id"])
    finally:
        await channel.aclose()
    assert order is not None and order.test is not include
    decision = decide(order, EligibilityRules(), shop.clock.now(), "shopify")
    assert isinstance(decision, Export) if include else decision == Never("a test order")


async def test_a_two_location_order_exports_and_fulfils_only_the_ffn_lines(shop: Shop) -> None:
    await shop.product("A1")
    await shop.product("B1")
    store = await shop.control("POST", "/_sandbox/locations", {"name": "Shop floor"})
    created = await shop.order([{"sku": "A1", "qty": 2}, {"sku": "B1", "qty": 3, "location": store["id"]}])
    channel = shop.channel()
    try:
        order = await channel.get_order(created["id"])
        assert order is not None and order.hold is None
        assert [(line.sku, line.quantity) for line in order.lines] == [("A1", 2)]
        # FFN reports the whole order shipped: only its own location's lines are fulfilled.
        ref = OrderRef(order.order_id, order.number)
        await channel.apply_shipment(ref, Shipment("s-1", "out-1", "MO-1", (), (Tracking("T1"),)))
        with pytest.raises(RecordError, match="not open at the FFN location"):
            await channel.apply_shipment(
                ref,
                Shipment("s-2", "out-1", "MO-1", (ShipmentLine(Decimal(3), sku="B1"),), (Tracking("T2"),)),
            )
    finally:
        await channel.aclose()
    state = await shop.control("GET", _order_path(created))
    assert [f["location"] for f in state["fulfillments"]] == [shop.sandbox.location_id]
    by_location = {fo["location"]: fo for fo in state["fulfillmentOrders"]}
    assert by_location[store["id"]]["status"] == "OPEN"
    assert by_location[store["id"]]["lineItems"][0]["remainingQuantity"] == 3


async def test_an_order_only_elsewhere_is_skipped_with_the_reason(shop: Shop) -> None:
    await shop.product("B1")
    store = await shop.control("POST", "/_sandbox/locations", {"name": "Shop floor"})
    created = await shop.order([{"sku": "B1", "qty": 3, "location": store["id"]}])
    channel = shop.channel()
    try:
        order = await channel.get_order(created["id"])
    finally:
        await channel.aclose()
    assert order is not None and order.lines == () and order.hold is None
    decision = decide(order, EligibilityRules(), shop.clock.now(), "shopify")
    assert isinstance(decision, Never) and "at another location" in decision.reason


async def test_a_fulfilment_order_owned_by_a_fulfillment_service_is_never_fulfilled(shop: Shop) -> None:
    await shop.product("A1")
    await shop.product("C1")
    third_party = await shop.control(
        "POST", "/_sandbox/locations", {"name": "3PL", "fulfillment_service": "other-3pl-app"}
    )
    created = await shop.order(
        [{"sku": "A1", "qty": 1}, {"sku": "C1", "qty": 1, "location": third_party["id"]}]
    )
    channel = shop.channel()
    # Even configured at the service's location, the client neither exports nor fulfils its lines.
    foreign = shop.channel(location_id=third_party["id"])
    try:
        at_ffn = await channel.get_order(created["id"])
        at_service = await foreign.get_order(created["id"])
        assert at_ffn is not None and [line.sku for line in at_ffn.lines] == ["A1"]
        assert at_service is not None and at_service.lines == ()  # not ours to ship either
        ref = OrderRef(at_ffn.order_id, at_ffn.number)
        with pytest.raises(RecordError):
            await foreign.apply_shipment(
                ref,
                Shipment("s-1", "out-1", "MO-1", (ShipmentLine(Decimal(1), sku="C1"),), (Tracking("T1"),)),
            )
        await channel.apply_shipment(ref, Shipment("s-2", "out-1", "MO-1", (), (Tracking("T2"),)))
    finally:
        await channel.aclose()
        await foreign.aclose()
    state = await shop.control("GET", _order_path(created))
    assert [f["location"] for f in state["fulfillments"]] == [shop.sandbox.location_id]
