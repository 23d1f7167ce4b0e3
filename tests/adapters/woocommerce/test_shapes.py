"""Sandbox responses have the shapes of the official REST API docs' examples.

Deliberate differences, each named here: current WooCommerce fields the WC 3.x samples lack
(``global_unique_id``, ``shipping.phone``, ``needs_processing``, ``line_items[].parent_name``);
a variation without its own image has ``image: null``; meta values are of any type by definition.
"""

from __future__ import annotations

from typing import Any

import pytest
import yarl

from tests.adapters.woocommerce.conftest import Shop, doc_example, signed_url
from tests.adapters.woocommerce.shapes import shape_diff

ORDER_EXTRA = {"$.shipping.phone", "$.needs_processing", "$.line_items[].parent_name"}
ORDER_ANY = {"$.meta_data[].value"}
PRODUCT_EXTRA = {"$.global_unique_id"}
VARIATION_NULLABLE = {"$.image"}


def test_comparer_reports_missing_keys_wrong_types_and_unexpected_nulls() -> None:
    example = {"a": 1, "b": [{"c": "x"}], "d": None, "e": "s"}
    actual = {"a": "1", "b": [{"c": 2}], "d": {"any": 1}, "e": None, "f": True}
    assert sorted(shape_diff(example, actual)) == [
        "$.a: string, example has number",
        "$.b[].c: number, example has string",
        "$.e: null, example has string",
        "$.f: not in the example",
    ]
    assert shape_diff({"x": 1, "y": 2}, {"x": 1}) == ["$.y: missing"]
    assert shape_diff({"e": "s"}, {"e": None}, nullable={"$.e"}) == []


async def _world(shop: Shop) -> dict[str, Any]:
    await shop.product("SIMPLE-1", name="Shirt", ean="4006381333931", price="21.99", stock=3)
    await shop.product("TEE-BLK", name="Black", parent_sku="TEE", option="Black", price="9.00")
    await shop.product("TEE-GRN", name="Green", parent_sku="TEE", option="Green", price="9.00")
    created = await shop.order([("SIMPLE-1", 2), ("TEE-BLK", 1)], tags=["vip"])
    parent = (await shop.vendor("GET", "/wc/v3/products", sku="TEE"))[0]
    return {"order_id": created["id"], "parent_id": parent["id"], "variations": parent["variations"]}


def _check(example_name: str, actual: Any, **options: Any) -> None:
    if isinstance(actual, list):
        # A collection's elements sit at "$[]" instead of "$".
        options = {k: {p.replace("$", "$[]", 1) for p in v} for k, v in options.items()}
    diffs = shape_diff(doc_example(example_name), actual, **options)
    assert diffs == [], f"{example_name}:\n" + "\n".join(diffs)


async def test_orders_match_the_docs(shop: Shop) -> None:
    world = await _world(shop)
    oid = world["order_id"]
    options = {"extra": ORDER_EXTRA, "any_type": ORDER_ANY}
    _check("orders__retrieve-an-order.response", await shop.vendor("GET", f"/wc/v3/orders/{oid}"), **options)
    _check("orders__list-all-orders.response", await shop.vendor("GET", "/wc/v3/orders"), **options)
    updated = await shop.vendor("PUT", f"/wc/v3/orders/{oid}", doc_example("orders__update-an-order.request"))
    assert updated["status"] == "completed"
    _check("orders__update-an-order.response", updated, **options)


async def test_order_notes_match_the_docs(shop: Shop) -> None:
    oid = (await _world(shop))["order_id"]
    note = await shop.vendor(
        "POST", f"/wc/v3/orders/{oid}/notes", doc_example("order-notes__create-an-order-note.request")
    )
    _check("order-notes__create-an-order-note.response", note)
    assert note["customer_note"] is False and note["author"] == "system"


async def test_products_match_the_docs(shop: Shop) -> None:
    world = await _world(shop)
    simple = (await shop.vendor("GET", "/wc/v3/products", sku="SIMPLE-1"))[0]
    _check(
        "products__retrieve-a-product.response",
        await shop.vendor("GET", f"/wc/v3/products/{simple['id']}"),
        extra=PRODUCT_EXTRA,
    )
    listed = await shop.vendor("GET", "/wc/v3/products")
    assert {p["type"] for p in listed} == {"simple", "variable"}
    _check("products__list-all-products.response", listed, extra=PRODUCT_EXTRA)
    updated = await shop.vendor(
        "PUT", f"/wc/v3/products/{simple['id']}", doc_example("products__update-a-product.request")
    )
    assert updated["regular_price"] == "24.54"
    _check("products__retrieve-a-product.response", updated, extra=PRODUCT_EXTRA)
    assert world["variations"]


async def test_variations_match_the_docs(shop: Shop) -> None:
    world = await _world(shop)
    parent, first = world["parent_id"], world["variations"][0]
    options = {"extra": PRODUCT_EXTRA, "nullable": VARIATION_NULLABLE}
    one = await shop.vendor("GET", f"/wc/v3/products/{parent}/variations/{first}")
    _check("product-variations__retrieve-a-product-variation.response", one, **options)
    listed = await shop.vendor("GET", f"/wc/v3/products/{parent}/variations")
    assert len(listed) == 2
    _check("product-variations__list-all-product-variations.response", listed, **options)


async def test_batch_responses_match_the_docs(shop: Shop) -> None:
    world = await _world(shop)
    simple = (await shop.vendor("GET", "/wc/v3/products", sku="SIMPLE-1"))[0]
    spare = await shop.product("SPARE-1")
    body = {
        "create": [{"name": "New", "type": "simple", "regular_price": "21.99"}],
        "update": [{"id": simple["id"], "manage_stock": True, "stock_quantity": 7}],
        "delete": [spare["id"]],
    }
    answer = await shop.vendor("POST", "/wc/v3/products/batch", body)
    _check(
        "products__batch-update-products.response",
        answer,
        extra={"$.create[].global_unique_id", "$.update[].global_unique_id", "$.delete[].global_unique_id"},
    )
    parent, (first, second) = world["parent_id"], world["variations"]
    body = {
        "create": [{"regular_price": "10.00"}],
        "update": [{"id": first, "regular_price": "10.00"}],
        "delete": [second],
    }
    answer = await shop.vendor("POST", f"/wc/v3/products/{parent}/variations/batch", body)
    extra = {f"$.{k}[].global_unique_id" for k in ("create", "update", "delete")}
    nullable = {f"$.{k}[].image" for k in ("create", "update", "delete")}
    _check(
        "product-variations__batch-update-product-variations.response", answer, extra=extra, nullable=nullable
    )


@pytest.mark.parametrize("case", ["unauthorized", "too_large", "invalid_id"])
async def test_errors_have_the_documented_shape(shop: Shop, case: str) -> None:
    documented = {"code": "woocommerce_rest_example", "message": "Text.", "data": {"status": 400}}
    if case == "unauthorized":
        response = await shop.session.get(shop.url + "/wp-json/wc/v3/orders")
        expected = (401, "woocommerce_rest_cannot_view")
    elif case == "too_large":
        body = {"update": [{"id": i, "stock_quantity": 1} for i in range(101)]}
        url = signed_url(shop.url + "/wp-json/wc/v3/products/batch", "POST", shop.clock.now())
        response = await shop.session.post(yarl.URL(url, encoded=True), json=body)
        expected = (413, "woocommerce_rest_request_entity_too_large")
    else:
        url = signed_url(shop.url + "/wp-json/wc/v3/orders/999999", "GET", shop.clock.now())
        response = await shop.session.get(yarl.URL(url, encoded=True))
        expected = (404, "woocommerce_rest_shop_order_invalid_id")
    body = await response.json()
    assert (response.status, body["code"]) == expected
    assert body["data"]["status"] == response.status
    assert shape_diff(documented, body) == []
