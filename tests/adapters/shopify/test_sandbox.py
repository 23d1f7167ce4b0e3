"""The sandbox behaves as Shopify does where the client depends on it."""

from __future__ import annotations

from sandboxes.shopify.search import parse
from tests.adapters.shopify.conftest import Shop

ORDERS_Q = "query($q: String, $after: String) { orders(first: 2, after: $after, query: $q, sortKey: UPDATED_AT) { pageInfo { hasNextPage endCursor } nodes { name } } }"


async def test_search_syntax_filters_on_updated_at_and_pages_with_opaque_cursors(shop: Shop) -> None:
    await shop.product("A1")
    for _ in range(5):
        shop.clock.advance(60)
        await shop.order([{"sku": "A1", "qty": 1}])
    q = "updated_at:>='2026-11-23T10:02:00Z' AND updated_at:<='2026-11-23T10:04:00Z'"
    _, first = await shop.graphql(ORDERS_Q, {"q": q})
    page = first["data"]["orders"]
    assert [n["name"] for n in page["nodes"]] == ["#1002", "#1003"] and page["pageInfo"]["hasNextPage"]
    _, second = await shop.graphql(ORDERS_Q, {"q": q, "after": page["pageInfo"]["endCursor"]})
    assert [n["name"] for n in second["data"]["orders"]["nodes"]] == ["#1004"]
    assert second["data"]["orders"]["pageInfo"]["hasNextPage"] is False
    # An offset other than Z matches nothing, as on Shopify.
    _, offset = await shop.graphql(ORDERS_Q, {"q": "updated_at:>='2026-11-23T11:00:00+01:00'"})
    assert offset["data"]["orders"]["nodes"] == []


async def test_the_search_lag_knob_hides_a_new_order_from_searches_for_that_long(shop: Shop) -> None:
    await shop.product("A1")
    assert await shop.control("GET", "/_sandbox/search") == {"lag_s": 0.0}
    await shop.order([{"sku": "A1", "qty": 1}])
    assert await shop.control("PUT", "/_sandbox/search", {"lag_s": 2}) == {"lag_s": 2.0}
    placed = await shop.order([{"sku": "A1", "qty": 1}])
    q = "updated_at:>='2026-11-23T00:00:00Z'"

    async def searched() -> list[str]:
        _, answer = await shop.graphql(ORDERS_Q.replace("first: 2", "first: 10"), {"q": q})
        return [n["name"] for n in answer["data"]["orders"]["nodes"]]

    assert await searched() == ["#1001"]  # placed before the knob: indexed at once
    # Read by id it is there at once: only searches go through the index.
    _, by_id = await shop.graphql("query($id: ID!) { order(id: $id) { name } }", {"id": placed["id"]})
    assert by_id["data"]["order"]["name"] == "#1002"
    shop.clock.advance(1.9)
    assert await searched() == ["#1001"]
    shop.clock.advance(0.1)
    assert await searched() == ["#1001", "#1002"]


def test_search_parser_handles_or_negation_and_quoted_values() -> None:
    accessors = {"sku": lambda r: r["sku"]}
    flt = parse('sku:"A B" OR sku:C\\"D OR -sku:X', accessors)
    assert flt.matches({"sku": "A B"}, accessors)
    assert flt.matches({"sku": 'C"D'}, accessors)
    assert flt.matches({"sku": "anything"}, accessors)
    assert not parse("sku:X", accessors).matches({"sku": "Y"}, accessors)
    assert parse("colour:red", accessors).warnings[0]["field"] == "colour"


async def test_cost_extension_and_max_cost(shop: Shop) -> None:
    _, answer = await shop.graphql(
        "{ orders(first: 250) { nodes { lineItems(first: 250) { nodes { id } } } } }"
    )
    assert answer["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    _, ok = await shop.graphql("{ shop { name } }")
    cost = ok["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 1 and cost["actualQueryCost"] == 1
    assert cost["throttleStatus"] == {
        "maximumAvailable": 2000.0,
        "currentlyAvailable": 1999,
        "restoreRate": 100.0,
    }


async def test_requests_for_fields_shopify_lacks_fail(shop: Shop) -> None:
    _, answer = await shop.graphql("{ orders(first: 1) { nodes { orderNumber } } }")
    assert "Cannot query field 'orderNumber'" in answer["errors"][0]["message"]
    _, missing_first = await shop.graphql("{ orders { nodes { id } } }")
    assert "first or last" in missing_first["errors"][0]["message"]


async def test_inventory_set_is_all_or_nothing_with_indexed_user_errors(shop: Shop) -> None:
    # The old compare shape, still served at 2026-01.
    a = await shop.product("A1")
    mutation = """mutation($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) {
      inventoryAdjustmentGroup { id } userErrors { code field message } } }"""
    quantities = [
        {"inventoryItemId": a["inventory_item_id"], "locationId": shop.sandbox.location_id, "quantity": 4},
        {
            "inventoryItemId": "gid://shopify/InventoryItem/42",
            "locationId": shop.sandbox.location_id,
            "quantity": 1,
        },
    ]
    _, answer = await shop.graphql(
        mutation,
        {
            "input": {
                "name": "available",
                "reason": "correction",
                "quantities": quantities,
                "ignoreCompareQuantity": True,
            }
        },
        version="2026-01",
    )
    errors = answer["data"]["inventorySetQuantities"]["userErrors"]
    assert errors == [
        {"code": "INVALID_INVENTORY_ITEM", "field": ["input", "quantities", "1", "inventoryItemId"],
         "message": "The specified inventory item could not be found."}
    ]  # fmt: skip
    assert (await shop.control("GET", "/_sandbox/stock")) == {"A1": 0}
    _, stale = await shop.graphql(
        mutation,
        {"input": {"name": "available", "reason": "correction", "quantities": quantities[:1]}},
        version="2026-01",
    )
    assert stale["data"]["inventorySetQuantities"]["userErrors"][0]["code"] == "COMPARE_QUANTITY_REQUIRED"


async def test_reset_empties_the_world(shop: Shop) -> None:
    await shop.product("A1")
    await shop.control("POST", "/_sandbox/reset")
    assert await shop.control("GET", "/_sandbox/stock") == {}
    assert shop.sandbox.location_id == "gid://shopify/Location/1000001"


async def test_a_wrong_token_is_refused_as_shopify_refuses_it(shop: Shop) -> None:
    status, body = await shop.graphql("{ shop { name } }", token="nope")
    assert status == 401 and "Invalid API key or access token" in body["errors"]
