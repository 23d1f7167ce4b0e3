"""Client ⇄ sandbox: delta pulls of orders and products.

What every shop adapter must do is tested once in tests/contracts; here is what is Shopify's own.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from daemon.model import ShopOrder, Window
from daemon.ports import UnreadableOrder
from tests.adapters.shopify.conftest import START, Shop


async def test_multi_page_order_pull_honours_the_window(shop: Shop) -> None:
    await shop.product("A1")
    ids = []
    for _ in range(12):
        shop.clock.advance(10)
        ids.append((await shop.order([{"sku": "A1", "qty": 1}]))["id"])
    # Window covers orders 3..9 (created at +30 s .. +90 s).
    window = Window(START + timedelta(seconds=30), START + timedelta(seconds=91))
    channel = shop.channel(page_size=3)
    try:
        pulled = [o async for o in channel.changed_orders(window)]
    finally:
        await channel.aclose()
    assert [o.order_id for o in pulled] == ids[2:9]
    assert [o.updated_at for o in pulled] == sorted(o.updated_at for o in pulled)
    scopes, *requests = [e.request_json() for e in shop.graphql_log()]
    assert "currentAppInstallation" in scopes["query"]  # once per process, before the first order read
    kinds = [r for r in requests if "LocationKind" in r["query"]]
    requests = [r for r in requests if r not in kinds]
    assert len(kinds) == 1  # once per process, with the first order mapped
    assert len(requests) == 3  # 7 orders in pages of 3
    assert (
        requests[0]["variables"]["q"]
        == "updated_at:>='2026-11-23T10:00:30Z' AND updated_at:<'2026-11-23T10:01:31Z'"
    )
    assert all("sortKey: UPDATED_AT" in r["query"] for r in requests)


async def test_orders_are_normalised_with_all_their_lines(shop: Shop) -> None:
    for i in range(25):
        await shop.product(f"SKU-{i:02d}")
    big = await shop.order(
        [{"sku": f"SKU-{i:02d}", "qty": i + 1, "price": "1.50"} for i in range(25)],
        digital_lines=[{"name": "E-book", "qty": 1, "price": "4.99"}],
        address={"first_name": "Zoë", "last_name": "Ærø", "street": "Øster Allé 3", "zip": "2100",
                 "city": "København", "country_code": "DK", "phone": "+45 1234"},
        email="zoe@example.com",
        tags=["vip"],
    )  # fmt: skip
    channel = shop.channel()
    try:
        order = await channel.get_order(big["id"])
        missing = await channel.get_order("gid://shopify/Order/999")
    finally:
        await channel.aclose()
    assert missing is None
    assert order is not None
    assert order.number == big["number"]
    # Read through the FFN location's fulfillment order (5 lines inline, all 25 from a second query); the
    # e-book needs no shipping and is on no fulfillment order there, so it is not FFN's line.
    assert len(order.lines) == 25
    assert order.lines[24].sku == "SKU-24" and order.lines[24].quantity == 25
    assert all(line.requires_shipping for line in order.lines)
    assert order.tags == ("vip",)
    assert order.shipping_address is not None and order.shipping_address.city == "København"
    assert order.shipping_address.email == "zoe@example.com"
    assert order.shipping_methods == ("DHL Paket",)
    assert [e.request_json()["query"].split("(")[0].split(" {")[0] for e in shop.graphql_log()] == [
        "query AppScopes",
        "query Order",
        "query OrderFulfilmentOrders",  # its fulfillment order has more lines than come inline
        "query LocationKind",  # once per process: may the app fulfil at the FFN location at all
        "query Order",
    ]


async def _order_of_120_lines(shop: Shop) -> dict[str, Any]:
    for i in range(120):
        await shop.product(f"SKU-{i:03d}")
    return await shop.order([{"sku": f"SKU-{i:03d}", "qty": 1 + i % 3} for i in range(120)])


@pytest.mark.parametrize("read", ["get", "paged", "bulk"])
async def test_a_fulfillment_order_of_120_lines_is_read_whole_page_by_page(shop: Shop, read: str) -> None:
    big = await _order_of_120_lines(shop)
    channel = shop.channel(bulk_read_min_orders=1)
    window = Window(START - timedelta(minutes=1), START + timedelta(minutes=1))
    try:
        if read == "get":
            order = await channel.get_order(big["id"])
        else:
            reads = channel.changed_orders(window) if read == "paged" else channel.changed_orders_bulk(window)
            [order] = [o async for o in reads]
    finally:
        await channel.aclose()
    assert isinstance(order, ShopOrder), order
    assert [(line.sku, line.quantity) for line in order.lines] == [
        (f"SKU-{i:03d}", 1 + i % 3) for i in range(120)
    ]
    pages = [
        e.request_json() for e in shop.graphql_log() if "FulfillmentOrderLines" in e.request_json()["query"]
    ]
    if read == "bulk":
        assert pages == []  # the bulk file carries every line
    else:  # 50 came with the re-read of the order's fulfillment orders: two more pages of up to 50
        assert [p["variables"]["lines"] for p in pages] == [50, 50]
        assert all(p["variables"]["after"] for p in pages)


async def test_an_order_whose_fulfillment_order_lines_stop_coming_is_parked_not_shipped_short(
    shop: Shop,
) -> None:
    big = await _order_of_120_lines(shop)
    channel = shop.channel()
    real_query = channel.transport.query

    async def losing_the_fo(op: Any, variables: Any = None, **kw: Any) -> Any:
        if op.name == "FulfillmentOrderLines":
            return {"fulfillmentOrder": None}  # gone between two pages (moved, merged)
        return await real_query(op, variables, **kw)

    channel.transport.query = losing_the_fo  # type: ignore[method-assign]
    try:
        order = await channel.get_order(big["id"])
    finally:
        await channel.aclose()
    assert isinstance(order, UnreadableOrder)
    assert "not all of its lines could be read" in order.reason
    assert len(order.lines) == 50  # what was read keeps its stock reserved while the order is parked


async def test_edited_order_ships_the_current_quantities(shop: Shop) -> None:
    await shop.product("A1")
    await shop.product("B2")
    created = await shop.order([{"sku": "A1", "qty": 3}, {"sku": "B2", "qty": 1}])
    shop.clock.advance(60)
    await shop.control(
        "PATCH", f"/_sandbox/orders/{created['id'].replace('/', '%2F')}", {"lines": [{"sku": "A1", "qty": 1}]}
    )
    channel = shop.channel()
    try:
        pulled = [
            o
            async for o in channel.changed_orders(
                Window(START + timedelta(seconds=30), START + timedelta(hours=1))
            )
        ]
    finally:
        await channel.aclose()
    assert [(li.sku, li.quantity) for li in pulled[0].lines] == [("A1", 1)]


async def test_product_pull_maps_variants_and_skips_those_without_sku(shop: Shop) -> None:
    await shop.product("A1", ean="4006381333931", price="12.50", weight_kg=1.5)
    await shop.control("POST", "/_sandbox/products", {"sku": None, "name": "No SKU", "price": "1"})
    shop.clock.advance(3600)
    await shop.product("LATE")
    channel = shop.channel(page_size=1)
    try:
        products = [p async for p in channel.changed_products(Window(START, START + timedelta(minutes=1)))]
    finally:
        await channel.aclose()
    assert [(p.sku, p.ean, str(p.net_price), str(p.weight_kg), p.currency) for p in products] == [
        ("A1", "4006381333931", "12.50", "1.5", "EUR")
    ]
    assert products[0].stock_ref is not None and products[0].stock_ref.startswith(
        "gid://shopify/InventoryItem/"
    )
