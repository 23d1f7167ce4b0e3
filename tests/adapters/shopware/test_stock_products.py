"""Stock in bulk and changed products — client against the sandbox.

What every shop adapter must do is tested once in tests/contracts; here is what is Shopware's own.
"""

from __future__ import annotations

from decimal import Decimal

from adapters.shopware import ShopwareChannel
from daemon.clock import FakeClock
from daemon.model import ShopStock, Window
from daemon.ports import ItemFailure
from tests.adapters.shopware.conftest import Sandbox


async def test_stock_sync_isolates_an_unknown_sku(sandbox: Sandbox, channel: ShopwareChannel) -> None:
    for sku in ("A", "B"):
        await sandbox.product(sku, stock=1)

    results = await channel.set_stock([ShopStock("A", 40), ShopStock("X-404", 5), ShopStock("B", 0)])

    assert [(r.key, r.ok) for r in results] == [("A", True), ("X-404", False), ("B", True)]
    assert "X-404" in (results[1].error or "") and "product number" in (results[1].error or "")
    assert results[1].reason is ItemFailure.UNKNOWN_SKU  # the engine acts on this, not on the wording
    assert await sandbox.control("GET", "stock") == {"A": 40, "B": 0}
    syncs = [e.request_json() for e in sandbox.vendor_traffic() if e.path == "/api/_action/sync"]
    ids = {r["productNumber"]: r["id"] for r in sandbox.shop.store.rows("product")}
    assert syncs == [
        [
            {
                "action": "upsert",
                "entity": "product",
                "payload": [{"id": ids["A"], "stock": 40}, {"id": ids["B"], "stock": 0}],
            }
        ]
    ]


async def test_sku_resolution_is_cached(sandbox: Sandbox, channel: ShopwareChannel) -> None:
    await sandbox.product("A")
    await channel.set_stock([ShopStock("A", 1)])
    await channel.set_stock([ShopStock("A", 2)])
    assert [e.path for e in sandbox.vendor_traffic()].count("/api/search/product") == 1
    assert await sandbox.control("GET", "stock") == {"A": 2}


async def test_a_refused_batch_falls_back_to_single_writes(
    sandbox: Sandbox, channel: ShopwareChannel
) -> None:
    await sandbox.product("A")
    gone = await sandbox.product("GONE")
    await channel.set_stock([ShopStock("A", 1), ShopStock("GONE", 1)])
    del sandbox.shop.store.tables["product"][gone["id"]]  # deleted in the shop since

    results = await channel.set_stock([ShopStock("A", 7), ShopStock("GONE", 3)])

    assert [(r.key, r.ok) for r in results] == [("A", True), ("GONE", False)]
    assert await sandbox.control("GET", "stock") == {"A": 7}
    assert "GONE" not in channel.stock.refs  # resolved afresh next time


async def test_parent_products_take_no_stock(sandbox: Sandbox, channel: ShopwareChannel) -> None:
    await sandbox.product("SHIRT")
    await sandbox.product("SHIRT-S", parent_sku="SHIRT")
    results = await channel.set_stock([ShopStock("SHIRT", 3), ShopStock("SHIRT-S", 3)])
    assert [(r.key, r.ok) for r in results] == [("SHIRT", False), ("SHIRT-S", True)]
    assert "variants" in (results[0].error or "") and results[0].reason is ItemFailure.NOT_MANAGED


async def test_stock_ref_skips_the_lookup(sandbox: Sandbox, channel: ShopwareChannel) -> None:
    created = await sandbox.product("A")
    results = await channel.set_stock([ShopStock("A", 9, stock_ref=created["id"])])
    assert results[0].ok and "/api/search/product" not in [e.path for e in sandbox.vendor_traffic()]


async def test_changed_products_are_sellable_units_with_inherited_values(
    sandbox: Sandbox, channel: ShopwareChannel, clock: FakeClock
) -> None:
    await sandbox.product("OLD")
    clock.advance(3600)
    start = clock.now()
    await sandbox.product("SHIRT", name="Shirt", ean="4006381333931", weight_kg=0.3, price="29.75")
    await sandbox.product("SHIRT-S", parent_sku="SHIRT")
    await sandbox.product("SHIRT-M", parent_sku="SHIRT", ean="4006381333948")
    await sandbox.product("EBOOK", digital=True)
    await sandbox.control("PATCH", "products/OLD", {"name": "Old, renamed"})
    clock.advance(1)

    products = [p async for p in channel.changed_products(Window(start, clock.now()))]

    by_sku = {p.sku: p for p in products}
    # The parent is a container; a digital product is 6.7's type "digital", 6.6's "is-download" state.
    assert set(by_sku) == {"SHIRT-S", "SHIRT-M", "OLD"}
    small, medium = by_sku["SHIRT-S"], by_sku["SHIRT-M"]
    assert (small.name, small.ean, small.weight_kg) == ("Shirt", "4006381333931", Decimal("0.3"))
    assert medium.ean == "4006381333948" and medium.net_price == Decimal("25.00") and medium.currency == "EUR"
    assert by_sku["OLD"].name == "Old, renamed"
    searches = [e for e in sandbox.vendor_traffic() if e.path == "/api/search/product"]
    assert all(e.request_headers.get("sw-inheritance") == "1" for e in searches)
    # Products pulled once resolve stock without another lookup.
    await channel.set_stock([ShopStock("SHIRT-S", 4)])
    assert len([e for e in sandbox.vendor_traffic() if e.path == "/api/search/product"]) == len(searches)
