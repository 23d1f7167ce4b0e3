"""Client ⇄ sandbox: fulfilments, order status, stock.

What every shop adapter must do is tested once in tests/contracts; here is what is Shopify's own.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest

from adapters.shopify import ShopifyChannel, queries
from daemon.errors import ManualActionNeeded, RecordError, RetryableError
from daemon.model import (
    FulfillerStatus,
    OrderRef,
    OutboundStatus,
    Shipment,
    ShipmentLine,
    ShopStock,
    Tracking,
)
from tests.adapters.shopify.conftest import Shop


def shipment(sid: str, lines: list[ShipmentLine], trackings: tuple[Tracking, ...] = ()) -> Shipment:
    return Shipment(sid, "ob-1", "SHOP-1001", tuple(lines), trackings)


async def vendor_order(shop: Shop, order_id: str) -> dict[str, Any]:
    result: dict[str, Any] = await shop.control("GET", f"/_sandbox/orders/{quote(order_id, safe='')}")
    return result


@pytest.fixture
async def channel(shop: Shop) -> Any:
    ch = shop.channel()
    yield ch
    await ch.aclose()


async def test_a_fulfilment_applied_twice_is_applied_once(shop: Shop, channel: ShopifyChannel) -> None:
    await shop.product("A1")
    created = await shop.order([{"sku": "A1", "qty": 2}])
    ref = OrderRef(created["id"], created["number"])
    parcel = shipment(
        "s-1", [ShipmentLine(Decimal(2), sku="A1")], (Tracking("00340434", "DHL", "https://t/1"),)
    )
    await channel.apply_shipment(ref, parcel)
    await channel.apply_shipment(ref, parcel)
    order = await vendor_order(shop, created["id"])
    assert len(order["fulfillments"]) == 1
    assert order["fulfillments"][0]["trackingInfo"] == [
        {"number": "00340434", "company": "DHL", "url": "https://t/1"}
    ]
    assert order["fulfillments"][0]["notifyCustomer"] is True
    assert order["displayFulfillmentStatus"] == "FULFILLED"


async def test_partial_fulfilments_by_line_id_and_sku(shop: Shop, channel: ShopifyChannel) -> None:
    await shop.product("A1")
    await shop.product("B2")
    created = await shop.order([{"sku": "A1", "qty": 3}, {"sku": "B2", "qty": 2}])
    ref = OrderRef(created["id"], created["number"])
    pulled = await channel.get_order(created["id"])
    assert pulled is not None
    a1_line = pulled.lines[0].line_id
    first = shipment(
        "s-1", [ShipmentLine(Decimal(1), line_id=a1_line)], (Tracking("T-1", "DHL"), Tracking("T-2", "DHL"))
    )
    await channel.apply_shipment(ref, first)
    order = await vendor_order(shop, created["id"])
    assert order["displayFulfillmentStatus"] == "PARTIALLY_FULFILLED"
    assert [x["remainingQuantity"] for x in order["fulfillmentOrders"][0]["lineItems"]] == [2, 2]
    assert [t["number"] for t in order["fulfillments"][0]["trackingInfo"]] == ["T-1", "T-2"]
    # The rest, without tracking, matched by SKU.
    rest = shipment("s-2", [ShipmentLine(Decimal(2), sku="A1"), ShipmentLine(Decimal(2), sku="B2")])
    await channel.apply_shipment(ref, rest)
    order = await vendor_order(shop, created["id"])
    assert order["displayFulfillmentStatus"] == "FULFILLED"
    assert [f["lineItems"] for f in order["fulfillments"]][1] == [
        {"id": order["fulfillmentOrders"][0]["lineItems"][0]["id"], "quantity": 2},
        {"id": order["fulfillmentOrders"][0]["lineItems"][1]["id"], "quantity": 2},
    ]
    assert order["fulfillments"][1]["trackingInfo"] == []
    # Untracked and nothing left: applying again changes nothing.
    await channel.apply_shipment(ref, rest)
    assert len((await vendor_order(shop, created["id"]))["fulfillments"]) == 2


async def test_fulfilment_userErrors_surface_as_record_errors(shop: Shop, channel: ShopifyChannel) -> None:
    await shop.product("A1")
    created = await shop.order([{"sku": "A1", "qty": 1}])
    ref = OrderRef(created["id"], created["number"])
    real_query = channel.transport.query

    async def query_then_cancel(op: Any, variables: Any = None, **kw: Any) -> Any:
        result = await real_query(op, variables, **kw)
        if op is queries.FULFILMENT_STATE:  # the merchant cancels between our read and our write
            await shop.control("POST", f"/_sandbox/orders/{quote(created['id'], safe='')}/cancel", {})
        return result

    channel.transport.query = query_then_cancel  # type: ignore[method-assign]
    with pytest.raises(RecordError) as caught:
        await channel.apply_shipment(
            ref, shipment("s-1", [ShipmentLine(Decimal(1), sku="A1")], (Tracking("X1"),))
        )
    message = str(caught.value)
    assert "fulfillmentCreate refused by Shopify" in message
    assert (
        "fulfillment.lineItemsByFulfillmentOrder.0" in message and "unfulfillable status= closed" in message
    )
    assert caught.value.details["user_errors"]


async def test_shipments_the_order_cannot_take_are_explained(shop: Shop, channel: ShopifyChannel) -> None:
    await shop.product("A1")
    created = await shop.order([{"sku": "A1", "qty": 1}])
    ref = OrderRef(created["id"], created["number"])
    with pytest.raises(RecordError, match="sku=NOPE"):
        await channel.apply_shipment(ref, shipment("s-1", [ShipmentLine(Decimal(1), sku="NOPE")]))
    await shop.control("POST", f"/_sandbox/orders/{quote(created['id'], safe='')}/cancel", {})
    with pytest.raises(ManualActionNeeded, match="cancelled in Shopify"):
        await channel.apply_shipment(ref, shipment("s-2", [ShipmentLine(Decimal(1), sku="A1")]))


async def test_fulfiller_cancel_tags_notes_and_cancels_once(shop: Shop, channel: ShopifyChannel) -> None:
    await shop.product("A1")
    created = await shop.order([{"sku": "A1", "qty": 1}], note="gift wrap")
    ref = OrderRef(created["id"], created["number"])
    status = FulfillerStatus("ob-1", "SHOP-1001", OutboundStatus.CANCELED, cancel_reason="out of stock")
    await channel.apply_order_status(ref, status, cancel_in_shop=False)
    await channel.apply_order_status(ref, status, cancel_in_shop=False)
    order = await vendor_order(shop, created["id"])
    assert order["tags"] == ["ffn-cancelled"]
    assert order["note"] == "gift wrap\nffn-sync: the fulfiller cancelled outbound ob-1 (out of stock)"
    assert order["cancelledAt"] is None
    await channel.apply_order_status(ref, status, cancel_in_shop=True)
    await channel.apply_order_status(ref, status, cancel_in_shop=True)
    order = await vendor_order(shop, created["id"])
    assert order["cancelledAt"] is not None and order["cancelReason"] == "OTHER"
    names = [e.request_json()["query"].split("(")[0].strip() for e in shop.graphql_log()]
    assert names.count("mutation CancelOrder") == 1
    assert names.count("mutation AddTags") == 1 and names.count("mutation UpdateNote") == 1


async def test_stock_is_written_in_batches_of_250_with_bad_items_isolated(
    shop: Shop, channel: ShopifyChannel
) -> None:
    skus = [f"S{i:03d}" for i in range(300)]
    for sku in skus:
        await shop.product(sku, non_mutable=sku == "S007")
    levels = [ShopStock(sku, i) for i, sku in enumerate(skus)] + [ShopStock("UNKNOWN-1", 5)]
    results = await channel.set_stock(levels)
    by_key = {r.key: r for r in results}
    assert len(results) == 301
    assert not by_key["UNKNOWN-1"].ok and "unknown SKU 'UNKNOWN-1'" in (by_key["UNKNOWN-1"].error or "")
    assert not by_key["S007"].ok and "NON_MUTABLE_INVENTORY_ITEM" in (by_key["S007"].error or "")
    assert sum(r.ok for r in results) == 299
    stock = await shop.control("GET", "/_sandbox/stock")
    assert stock["S299"] == 299 and stock["S006"] == 6 and stock["S007"] == 0
    writes = [e.request_json() for e in shop.graphql_log() if "SetQuantities" in e.request_json()["query"]]
    assert [len(w["variables"]["input"]["quantities"]) for w in writes] == [250, 249, 50]
    assert all(w["variables"]["input"]["name"] == "available" for w in writes)
    assert all(w["variables"]["input"]["reason"] == "correction" for w in writes)
    # SKUs were resolved by the client itself, 50 per lookup, and cached.
    lookups = [e for e in shop.graphql_log() if "VariantsBySku" in e.request_json()["query"]]
    assert len(lookups) == 7
    await channel.set_stock([ShopStock("S001", 42)])
    assert len([e for e in shop.graphql_log() if "VariantsBySku" in e.request_json()["query"]]) == 7
    assert (await shop.control("GET", "/_sandbox/stock"))["S001"] == 42


async def test_stock_ref_skips_the_lookup(shop: Shop, channel: ShopifyChannel) -> None:
    made = await shop.product("A1")
    results = await channel.set_stock([ShopStock("A1", 9, stock_ref=made["inventory_item_id"])])
    assert results[0].ok
    # No SKU lookup; the level is read for the compare-and-swap, then written.
    assert [e.request_json()["query"].split("(")[0] for e in shop.graphql_log()] == [
        "query InventoryLevels",
        "mutation SetQuantities",
    ]


async def test_a_shipment_of_a_fulfillment_order_of_120_lines_fulfils_every_line(
    shop: Shop, channel: ShopifyChannel
) -> None:
    skus = [f"PART-{i:03d}" for i in range(120)]
    for sku in skus:
        await shop.product(sku)
    created = await shop.order([{"sku": sku, "qty": 2} for sku in skus])
    ref = OrderRef(created["id"], created["number"])
    parcel = shipment(
        "s-1", [ShipmentLine(Decimal(2), sku=sku) for sku in skus], (Tracking("00340434", "DHL", None),)
    )
    await channel.apply_shipment(ref, parcel)
    order = await vendor_order(shop, created["id"])
    assert order["displayFulfillmentStatus"] == "FULFILLED"  # every line, not the first 50
    [create] = [
        e.request_json()["variables"]["fulfillment"]
        for e in shop.graphql_log()
        if "mutation CreateFulfillment" in e.request_json()["query"]
    ]
    [by_fo] = create["lineItemsByFulfillmentOrder"]
    assert len(by_fo["fulfillmentOrderLineItems"]) == 120


async def test_a_big_fulfillment_order_whose_line_pages_stop_coming_is_not_fulfilled_short(
    shop: Shop, channel: ShopifyChannel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fulfilling the first 50 lines would put the tracking on the order, and every retry would then
    count the shipment as applied: the other 70 lines would never be fulfilled."""
    skus = [f"PART-{i:03d}" for i in range(120)]
    for sku in skus:
        await shop.product(sku)
    created = await shop.order([{"sku": sku, "qty": 2} for sku in skus])
    query = channel.transport.query

    async def line_pages_gone(op: Any, variables: Any = None, **kw: Any) -> Any:
        if variables is not None and "after" in variables and "lines" in variables:
            return {"fulfillmentOrder": None}  # the FO's further line pages stop coming
        return await query(op, variables, **kw)

    monkeypatch.setattr(channel.transport, "query", line_pages_gone)
    parcel = shipment(
        "s-1", [ShipmentLine(Decimal(2), sku=sku) for sku in skus], (Tracking("00340434", "DHL", None),)
    )
    with pytest.raises(RetryableError, match="could not all be read"):
        await channel.apply_shipment(OrderRef(created["id"], created["number"]), parcel)
    assert not [e for e in shop.graphql_log() if "mutation CreateFulfillment" in e.request_json()["query"]]
