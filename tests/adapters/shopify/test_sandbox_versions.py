"""The sandbox serves each request by the API version in its URL: 2026-01 as published, 2026-04 rules after."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from tests.adapters.shopify.conftest import Shop

SET = """mutation Set($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) {
  inventoryAdjustmentGroup { id changes { name delta quantityAfterChange } } userErrors { code field message } } }"""
SET_IDEMPOTENT = """mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id } userErrors { code field message } } }"""
LEVEL = """query Level($id: String!, $loc: ID!) { inventoryItems(first: 1, query: $id) { nodes {
  inventoryLevel(locationId: $loc) { quantities(names: ["available", "committed", "on_hand"]) { name quantity } } } } }"""


def _input(shop: Shop, item: str, quantity: int, **extra: Any) -> dict[str, Any]:
    entry = {"inventoryItemId": item, "locationId": shop.sandbox.location_id, "quantity": quantity, **extra}
    return {"name": "available", "reason": "correction", "quantities": [entry]}


async def _levels(shop: Shop, item: str) -> dict[str, int]:
    _, answer = await shop.graphql(
        LEVEL, {"id": f"id:{item.rsplit('/', 1)[-1]}", "loc": shop.sandbox.location_id}
    )
    level = answer["data"]["inventoryItems"]["nodes"][0]["inventoryLevel"]
    return {q["name"]: q["quantity"] for q in level["quantities"]}


async def test_an_unsupported_version_is_answered_by_the_oldest_supported_one(shop: Shop) -> None:
    async with shop.session.post(
        shop.server.make_url("/admin/api/2025-01/graphql.json"),
        json={"query": "{ shop { name } }"},
        headers={"X-Shopify-Access-Token": "shpat_sandbox"},
    ) as response:
        assert response.headers["X-Shopify-API-Version"] == "2026-01"
    async with shop.session.post(
        shop.server.make_url("/admin/api/2026-10/graphql.json"),
        json={"query": "{ shop { name } }"},
        headers={"X-Shopify-Access-Token": "shpat_sandbox"},
    ) as response:
        assert response.headers["X-Shopify-API-Version"] == "2026-10"


@pytest.mark.parametrize("version", ["2026-04", "2026-10"])
async def test_from_2026_04_the_old_compare_fields_are_unknown(shop: Shop, version: str) -> None:
    item = (await shop.product("A1"))["inventory_item_id"]
    _, ignored = await shop.graphql(
        SET_IDEMPOTENT,
        {
            "key": "k1",
            "input": {**_input(shop, item, 3, changeFromQuantity=None), "ignoreCompareQuantity": True},
        },
        version=version,
    )
    assert "ignoreCompareQuantity" in ignored["errors"][0]["message"]
    _, compared = await shop.graphql(
        SET_IDEMPOTENT, {"key": "k2", "input": _input(shop, item, 3, compareQuantity=0)}, version=version
    )
    assert "compareQuantity" in compared["errors"][0]["message"]
    assert await shop.control("GET", "/_sandbox/stock") == {"A1": 0}
    # 2026-01 still has both (deprecated).
    _, old = await shop.graphql(SET, {"input": _input(shop, item, 3, compareQuantity=0)}, version="2026-01")
    assert old["data"]["inventorySetQuantities"]["userErrors"] == []


async def test_from_2026_04_change_from_quantity_must_be_given_null_opts_out(shop: Shop) -> None:
    item = (await shop.product("A1"))["inventory_item_id"]
    _, missing = await shop.graphql(SET_IDEMPOTENT, {"key": "k1", "input": _input(shop, item, 3)})
    assert missing["data"]["inventorySetQuantities"] is None
    assert "changeFromQuantity is required" in missing["errors"][0]["message"]
    _, null = await shop.graphql(
        SET_IDEMPOTENT, {"key": "k2", "input": _input(shop, item, 3, changeFromQuantity=None)}
    )
    assert null["data"]["inventorySetQuantities"]["userErrors"] == []
    assert await shop.control("GET", "/_sandbox/stock") == {"A1": 3}
    # 2026-01: without changeFromQuantity the old rule applies (compareQuantity or ignore).
    _, old = await shop.graphql(SET, {"input": _input(shop, item, 4)}, version="2026-01")
    assert old["data"]["inventorySetQuantities"]["userErrors"][0]["code"] == "COMPARE_QUANTITY_REQUIRED"


async def test_from_2026_04_a_mutation_without_idempotent_fails(shop: Shop) -> None:
    item = (await shop.product("A1"))["inventory_item_id"]
    _, refused = await shop.graphql(SET, {"input": _input(shop, item, 3, changeFromQuantity=None)})
    assert refused["data"]["inventorySetQuantities"] is None
    assert refused["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_KEY_REQUIRED"
    assert await shop.control("GET", "/_sandbox/stock") == {"A1": 0}
    _, optional = await shop.graphql(
        SET, {"input": _input(shop, item, 3, changeFromQuantity=None)}, version="2026-01"
    )
    assert optional["data"]["inventorySetQuantities"]["userErrors"] == []


@pytest.mark.parametrize("version", ["2026-01", "2026-10"])
async def test_a_stale_change_from_quantity_is_refused(shop: Shop, version: str) -> None:
    item = (await shop.product("A1", stock=5))["inventory_item_id"]
    _, stale = await shop.graphql(
        SET_IDEMPOTENT, {"key": "k1", "input": _input(shop, item, 9, changeFromQuantity=4)}, version=version
    )
    errors = stale["data"]["inventorySetQuantities"]["userErrors"]
    assert [(e["code"], e["field"]) for e in errors] == [
        ("CHANGE_FROM_QUANTITY_STALE", ["input", "quantities", "0", "changeFromQuantity"])
    ]
    _, fresh = await shop.graphql(
        SET_IDEMPOTENT, {"key": "k2", "input": _input(shop, item, 9, changeFromQuantity=5)}, version=version
    )
    assert fresh["data"]["inventorySetQuantities"]["userErrors"] == []
    assert await shop.control("GET", "/_sandbox/stock") == {"A1": 9}


async def test_a_repeated_idempotency_key_returns_the_first_result_and_applies_once(shop: Shop) -> None:
    item = (await shop.product("A1", stock=5))["inventory_item_id"]
    body = {"key": "same", "input": _input(shop, item, 9, changeFromQuantity=5)}
    _, first = await shop.graphql(SET_IDEMPOTENT, body)
    await shop.control("POST", "/_sandbox/orders", {"lines": [{"sku": "A1", "qty": 2}]})  # 9 -> 7 available
    _, again = await shop.graphql(SET_IDEMPOTENT, body)
    assert again["data"] == first["data"]  # the first answer, not a stale error
    assert await shop.control("GET", "/_sandbox/stock") == {"A1": 7}
    other = {"key": "same", "input": _input(shop, item, 1, changeFromQuantity=7)}
    _, mismatch = await shop.graphql(SET_IDEMPOTENT, other)
    assert mismatch["data"]["inventorySetQuantities"]["userErrors"][0]["code"] == (
        "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"
    )
    assert await shop.control("GET", "/_sandbox/stock") == {"A1": 7}


async def test_orders_commit_stock_at_their_location_and_a_cancel_gives_it_back(shop: Shop) -> None:
    item = (await shop.product("A1", stock=10))["inventory_item_id"]
    store = await shop.control("POST", "/_sandbox/locations", {"name": "Shop floor"})
    order = await shop.order([{"sku": "A1", "qty": 3}, {"sku": "A1", "qty": 2, "location": store["id"]}])
    assert await _levels(shop, item) == {"available": 7, "committed": 3, "on_hand": 10}
    assert await shop.control("GET", "/_sandbox/stock") == {"A1": 7}
    await shop.control("POST", f"/_sandbox/orders/{quote(order['id'], safe='')}/cancel", {})
    assert await _levels(shop, item) == {"available": 10, "committed": 0, "on_hand": 10}
