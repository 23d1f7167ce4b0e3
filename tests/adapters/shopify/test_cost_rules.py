"""The sandbox prices queries by Shopify's documented rules, and our order query costs what those rules say.

shopify.dev, "GraphQL Admin API rate limits" (Cost calculation): scalar 0, enum 0, object 1, interface and
union the maximum of the possible selections, a connection sized by ``first``/``last`` (2 + first × node),
a mutation 10; requested before execution, actual by what came back. Every figure below is worked out by
hand from those rules, not by the code under test (neither the sandbox's calculator nor the client's
estimates).
"""

from __future__ import annotations

from typing import Any

import graphql
import pytest

from adapters.shopify import queries
from adapters.shopify.gate import location_query
from sandboxes.shopify.cost import CostContext
from tests.adapters.shopify.conftest import Shop
from tests.adapters.shopify.real_schema import full_schema


def requested(text: str, variables: dict[str, Any] | None = None) -> int:
    """Requested cost against Shopify's official schema (interfaces and unions included)."""
    document = graphql.parse(text)
    op = next(d for d in document.definitions if isinstance(d, graphql.OperationDefinitionNode))
    return CostContext(full_schema("2026-01"), {}, variables or {}).operation_cost(op)


def test_the_documented_example_costs_three() -> None:
    # The page's own example: products(first: 1) { edges { node { title } } } = 2 + 1 × 1.
    assert requested("{ products(first: 1) { edges { node { title } } } }") == 3


def test_an_interface_costs_its_dearest_possible_selection() -> None:
    text = """{ node(id: "gid://shopify/Order/1") {
      id
      ... on Order { shippingAddress { city } }
      ... on ProductVariant { product { title } inventoryItem { id } }
    } }"""
    # node 1 + max(Order: address 1, ProductVariant: product 1 + inventory item 1) = 3
    assert requested(text) == 3


def test_a_union_costs_its_dearest_possible_selection() -> None:
    text = """{ order(id: "gid://shopify/Order/1") { purchasingEntity {
      ... on Customer { id defaultAddress { city } }
      ... on PurchasingCompany { company { id } location { id } contact { id } }
    } } }"""
    # order 1 + purchasingEntity 1 + max(Customer: address 1, PurchasingCompany: 3 objects) = 5
    assert requested(text) == 5


async def test_a_connection_without_first_or_last_is_refused_before_it_runs(shop: Shop) -> None:
    _, answer = await shop.graphql("{ orders { nodes { id } } }")
    assert "first or last" in answer["errors"][0]["message"]
    assert shop.sandbox.bucket.stats.requests == 0  # nothing reserved, nothing charged


async def test_a_list_returning_more_items_than_reserved_is_charged_in_full(shop: Shop) -> None:
    await shop.product("SKU-1")
    order = await shop.order([{"sku": "SKU-1", "qty": 1}])
    before = shop.sandbox.bucket.available()
    _, answer = await shop.graphql(
        "query($id: ID!) { order(id: $id) { fulfillmentOrders(first: 1) { nodes { supportedActions { action } } } } }",
        {"id": order["id"]},
    )
    cost = answer["extensions"]["cost"]
    # Requested: order 1 + FOs 2 + 1 × (FO 1 + the action list as one object 1) = 5.
    # Actual: order 1 + FOs 2 + FO 1 + four actions at the merchant-managed location (create, request,
    # hold, move) 4 = 8; the bucket is charged all 8, not just the 5 it reserved.
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (5, 8)
    assert before - shop.sandbox.bucket.available() == pytest.approx(8)


async def test_the_order_query_costs_what_the_documented_rules_say(shop: Shop) -> None:
    await shop.product("SKU-1")
    order = await shop.order([{"sku": "SKU-1", "qty": 2}])  # one line, one shipping line, one open FO
    variables = {
        "id": order["id"],
        "lines": queries.INLINE_LINES,
        "foQuery": location_query(shop.sandbox.location_id),
    }
    _, answer = await shop.graphql(queries.ORDER.text, variables)
    assert "errors" not in answer
    cost = answer["extensions"]["cost"]
    assert queries.INLINE_LINES == 5
    hand_requested = (
        1  # order
        + 2  # currentTotalPriceSet { shopMoney }
        + 2  # currentShippingPriceSet { shopMoney }
        + 1  # shippingAddress
        + (2 + 5 * 1)  # shippingLines(first: 5) { title code }
        + (2 + 1 * (1 + 1 + (2 + 5 * (1 + 1 + 2))))  # fulfillmentOrders(first: 1): FO, holds,
        # lineItems(first: 5) of FO line + its lineItem + the line's originalUnitPriceSet { shopMoney }
        # (the order's lines are read there: no lineItems connection of the order itself)
    )
    assert hand_requested == 39
    hand_actual = (
        1  # order
        + 2
        + 2
        + 1  # the two price sets and the address, all present
        + (2 + 1)  # one shipping line
        + (2 + 1 + 0 + (2 + 1 * 4))  # one FO, no hold, one FO line with its line and price
    )
    assert hand_actual == 18
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (hand_requested, hand_actual)
    assert queries.ORDER.estimate == hand_requested  # the client reserves what Shopify will ask
    # A page of ten such orders asks 2 + 10 × 39 before it runs.
    assert queries.orders_page_cost(10) == 2 + 10 * hand_requested


async def test_the_reconcile_listing_costs_a_point_per_order(shop: Shop) -> None:
    await shop.product("SKU-1")
    for _ in range(3):
        await shop.order([{"sku": "SKU-1", "qty": 1}])
    _, answer = await shop.graphql(queries.ORDER_VERSIONS.text, {"first": queries.VERSIONS_PAGE})
    cost = answer["extensions"]["cost"]
    # Requested: orders 2 + 250 × 1; actual: 2 + the three orders.
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (252, 5)


async def test_counting_a_windows_orders_costs_a_point(shop: Shop) -> None:
    # ordersCount returns a Count object (count, precision: scalar and enum): 1 point, however many orders.
    await shop.product("SKU-1")
    for _ in range(3):
        await shop.order([{"sku": "SKU-1", "qty": 1}])
    _, answer = await shop.graphql(
        queries.ORDERS_COUNT.text, {"q": "updated_at:>='2026-01-01T00:00:00Z'", "limit": 2}
    )
    assert answer["data"]["ordersCount"] == {"count": 2, "precision": "AT_LEAST"}  # the limit reached
    cost = answer["extensions"]["cost"]
    assert (
        (cost["requestedQueryCost"], cost["actualQueryCost"])
        == (1, 1)
        == (queries.ORDERS_COUNT.estimate,) * 2
    )
    _, answer = await shop.graphql(queries.ORDERS_COUNT.text, {"q": "updated_at:>='2026-01-01T00:00:00Z'"})
    assert answer["data"]["ordersCount"] == {"count": 3, "precision": "EXACT"}
