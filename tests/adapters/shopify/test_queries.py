"""Every operation the client sends is valid for Shopify's real schema, and its cost estimate is exact."""

from __future__ import annotations

from typing import Any

import graphql
import pytest

from adapters.shopify import bulk_ops, queries
from adapters.shopify.transport import Operation
from sandboxes.shopify.cost import CostContext
from sandboxes.shopify.endpoint import load_schema
from tests.adapters.shopify.real_schema import SCHEMA_VERSIONS, full_schema


@pytest.mark.parametrize("version", ["2026-01", "2026-10"])
@pytest.mark.parametrize("op", queries.ALL_OPERATIONS, ids=lambda op: op.name)
def test_operation_is_valid_for_the_sandbox_schema(op: Operation, version: str) -> None:
    assert graphql.validate(load_schema(version), graphql.parse(op.text)) == []


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
def test_every_operation_is_valid_for_the_official_schema_of_each_version(version: str) -> None:
    # 2026-01 as Shopify publishes it; 2026-04 (and later) derived from it with the removed fields gone.
    schema = full_schema(version)
    problems = {op.name: graphql.validate(schema, graphql.parse(op.text)) for op in queries.ALL_OPERATIONS}
    assert {name: errs for name, errs in problems.items() if errs} == {}


def _requested(op: Operation, variables: dict[str, Any]) -> int:
    document = graphql.parse(op.text)
    operation = next(d for d in document.definitions if isinstance(d, graphql.OperationDefinitionNode))
    return CostContext(load_schema(), {}, variables).operation_cost(operation)


@pytest.mark.parametrize("first", [1, 10, 14])
def test_order_page_estimate_matches_shopify_cost_rules(first: int) -> None:
    variables = {"first": first, "lines": queries.INLINE_LINES}
    assert _requested(queries.CHANGED_ORDERS, variables) == queries.orders_page_cost(first)


@pytest.mark.parametrize("first", [1, 100, 159])
def test_variant_page_estimate_matches_shopify_cost_rules(first: int) -> None:
    assert _requested(queries.CHANGED_VARIANTS, {"first": first}) == queries.variants_page_cost(first)


@pytest.mark.parametrize(
    ("op", "variables"),
    [
        (queries.ORDER, {"lines": queries.INLINE_LINES}),
        (queries.ORDERS_COUNT, {}),
        (queries.ORDER_FULFILMENT_ORDERS, {"lines": queries.FULFILLMENT_ORDER_LINES}),
        (queries.FULFILLMENT_ORDER_LINES_PAGE, {"lines": queries.FULFILLMENT_ORDER_LINES}),
        (queries.FULFILMENT_STATE_LINES, {"lines": queries.FULFILLMENT_ORDER_LINES}),
        (queries.VARIANTS_BY_SKU, {"first": queries.SKU_LOOKUP_PAGE}),
        (queries.FULFILMENT_STATE, {}),
        (queries.CREATE_FULFILLMENT, {}),
    ],
    ids=lambda v: v.name if isinstance(v, Operation) else "",
)
def test_default_estimates_match_and_stay_under_the_single_query_cap(
    op: Operation, variables: dict[str, Any]
) -> None:
    cost = _requested(op, variables)
    assert cost == op.estimate
    assert cost <= queries.MAX_QUERY_COST


def test_notes_example_cost_is_reproduced() -> None:
    # api-notes §2.3: orders(first: 5) with lineItems(first: 50) asks about 860 points.
    text = """query { orders(first: 5) { nodes { id shippingAddress { city }
      shippingLines(first: 5) { nodes { title originalPriceSet { shopMoney { amount } } } }
      lineItems(first: 50) { nodes { id variant { id inventoryItem { id } } } } } } }"""
    op = Operation("Example", text, 0)
    assert _requested(op, {}) == 857


BULK_DOCUMENTS = (
    bulk_ops.RUN_BULK_QUERY,
    bulk_ops.BULK_OPERATION,
    bulk_ops.CURRENT_BULK_OPERATION,
    bulk_ops.BULK_OPERATIONS,
)


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
def test_every_bulk_operation_document_is_valid_for_the_official_schema_and_the_sandbox(version: str) -> None:
    for op in BULK_DOCUMENTS:
        assert graphql.validate(full_schema(version), graphql.parse(op.text)) == [], op.name
        assert graphql.validate(load_schema(version), graphql.parse(op.text)) == [], op.name
    assert _requested(bulk_ops.BULK_OPERATIONS, {}) == bulk_ops.BULK_OPERATIONS.estimate


@pytest.mark.parametrize("first", [1, 10])
def test_poll_page_estimate_is_the_order_page_and_the_count(first: int) -> None:
    variables = {"first": first, "lines": queries.INLINE_LINES}
    assert _requested(queries.POLL_ORDERS, variables) == queries.poll_page_cost(first)
    assert _requested(queries.POLL_ORDERS, {**variables, "first": 10}) == queries.POLL_ORDERS.estimate
