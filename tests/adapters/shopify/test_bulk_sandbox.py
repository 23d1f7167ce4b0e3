"""The sandbox's bulk query operations, as Shopify documents them; every answer is checked against Shopify's
official 2026-01 schema (executed against the full schema with the answer as its data: a status outside the
enum, a null where the schema says non-null, a field Shopify lacks all fail)."""

from __future__ import annotations

from typing import Any

import graphql
import orjson
import pytest

from tests.adapters.shopify.conftest import Shop
from tests.adapters.shopify.real_schema import full_schema

RUN = """mutation Run($q: String!, $grouped: Boolean!) {
  bulkOperationRunQuery(query: $q, groupObjects: $grouped) {
    bulkOperation { id status type createdAt }
    userErrors { code field message }
  }
}"""
STATUS = """query Status($id: ID!) {
  bulkOperation(id: $id) {
    id status errorCode type query createdAt completedAt objectCount rootObjectCount fileSize url partialDataUrl
  }
}"""
CURRENT = "query Current { currentBulkOperation { id status url objectCount } }"
ORDERS = """{ orders(query: "status:open") { edges { node { id name
  lineItems { edges { node { __typename id sku quantity } } }
  fulfillmentOrders { nodes { __typename id status lineItems { edges { node { remainingQuantity } } } } }
} } } }"""


def _conforms(query: str, variables: dict[str, Any], answer: dict[str, Any]) -> None:
    """The answer is one the official schema can give for this query."""
    assert "errors" not in answer, answer
    result = graphql.execute(
        full_schema("2026-01"), graphql.parse(query), root_value=answer["data"], variable_values=variables
    )
    assert isinstance(result, graphql.ExecutionResult)
    assert result.errors is None, result.errors
    assert result.data == answer["data"]


async def _gql(shop: Shop, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    status, answer = await shop.graphql(query, variables or {})
    assert status == 200
    _conforms(query, variables or {}, answer)
    data: dict[str, Any] = answer["data"]
    return data


async def _run(shop: Shop, query: str = ORDERS, grouped: bool = False) -> dict[str, Any]:
    payload: dict[str, Any] = (await _gql(shop, RUN, {"q": query, "grouped": grouped}))[
        "bulkOperationRunQuery"
    ]
    return payload


async def _orders(shop: Shop, count: int, lines: int = 2) -> None:
    for i in range(lines):
        await shop.product(f"B-{i}")
    for _ in range(count):
        await shop.order([{"sku": f"B-{i}", "qty": i + 1} for i in range(lines)])


async def _download(shop: Shop, url: str, **headers: str) -> tuple[int, bytes]:
    async with shop.session.get(url, headers=headers) as response:
        return response.status, await response.read()


async def test_an_operation_runs_in_the_background_and_serves_its_jsonl(shop: Shop) -> None:
    await _orders(shop, 3)
    started = await _run(shop)
    assert started["userErrors"] == []
    op = started["bulkOperation"]
    assert (op["status"], op["type"]) == ("CREATED", "QUERY")
    shop.clock.advance(0.5)
    running = (await _gql(shop, STATUS, {"id": op["id"]}))["bulkOperation"]
    assert running["status"] == "RUNNING" and running["url"] is None
    shop.clock.advance(0.5)
    done = (await _gql(shop, STATUS, {"id": op["id"]}))["bulkOperation"]
    assert done["status"] == "COMPLETED"
    # 3 orders, 6 line items, 3 fulfillment orders with 2 lines each
    assert (done["objectCount"], done["rootObjectCount"]) == ("18", "3")
    assert (await _gql(shop, CURRENT))["currentBulkOperation"]["id"] == op["id"]
    status, body = await _download(shop, done["url"])
    assert status == 200 and str(len(body)) == done["fileSize"]
    lines = [orjson.loads(line) for line in body.splitlines()]
    orders = [line for line in lines if "__parentId" not in line]
    assert len(orders) == 3 and all(set(o) == {"id", "name"} for o in orders)  # connections are own lines
    by_id = {line["id"]: line for line in lines if "id" in line}
    for line in lines:
        if "__parentId" in line:
            parent = by_id[line["__parentId"]]
            expected = "Order" if line.get("__typename") in ("LineItem", "FulfillmentOrder") else None
            assert expected is None or parent["id"].startswith("gid://shopify/Order/")
    fo_lines = [line for line in lines if "remainingQuantity" in line]
    assert len(fo_lines) == 6 and all("/FulfillmentOrder/" in line["__parentId"] for line in fo_lines)
    # Not grouped (the 2026-01 default): every order first, then their children.
    assert [("__parentId" in line) for line in lines[:3]] == [False] * 3


async def test_grouped_output_puts_children_right_after_their_parent(shop: Shop) -> None:
    await _orders(shop, 2)
    op = (await _run(shop, grouped=True))["bulkOperation"]
    shop.clock.advance(1)
    url = (await _gql(shop, STATUS, {"id": op["id"]}))["bulkOperation"]["url"]
    lines = [orjson.loads(line) for line in (await _download(shop, url))[1].splitlines()]
    first_order_children = lines[1:4]
    assert all(line["__parentId"] == lines[0]["id"] for line in first_order_children if "sku" in line)
    assert "__parentId" not in lines[len(lines) // 2]  # the second order starts the second half


async def test_one_bulk_query_at_a_time(shop: Shop) -> None:
    first = (await _run(shop))["bulkOperation"]
    refused = await _run(shop)
    assert refused["bulkOperation"] is None
    assert refused["userErrors"] == [
        {
            "code": "OPERATION_IN_PROGRESS",
            "field": None,
            "message": f"A bulk query operation for this app and shop is already in progress: {first['id']}.",
        }
    ]
    shop.clock.advance(1)
    assert (await _run(shop))["userErrors"] == []  # the first one finished


async def test_five_at_a_time_is_the_other_reading(shop: Shop) -> None:
    await shop.control("PUT", "/_sandbox/bulk", {"max_running": 5})
    for _ in range(5):
        assert (await _run(shop))["userErrors"] == []
    assert [e["code"] for e in (await _run(shop))["userErrors"]] == ["LIMIT_REACHED"]


@pytest.mark.parametrize(
    ("query", "why"),
    [
        ("{ shop { name } }", "must be a connection"),
        ("{ orders { edges { node { id } } } shop { name } }", "exactly one top-level field"),
        ("query Q($q: String) { orders(query: $q) { edges { node { id } } } }", "cannot use variables"),
        ("{ orders { edges { node { nope } } } }", "Cannot query field 'nope'"),
        ("{ orders { edges { node { name lineItems { edges { node { id } } } } } } }", "must select the 'id'"),
        ("{ orders { edges { node { id a: lineItems { nodes { id } } b: lineItems { nodes { id } } "
         "c: lineItems { nodes { id } } d: lineItems { nodes { id } } e: lineItems { nodes { id } } } } } }",
         "more than 5 connections"),
        ("{ orders { edges { node { id fulfillments { id } } } } }", None),
        ("{ orders { edges { node { id", "Syntax Error"),
    ],
)  # fmt: skip
async def test_an_invalid_query_is_a_user_error_and_starts_nothing(
    shop: Shop, query: str, why: str | None
) -> None:
    answer = await _run(shop, query)
    if why is None:
        assert answer["userErrors"] == []
        return
    assert answer["bulkOperation"] is None
    [error] = answer["userErrors"]
    assert (error["code"], error["field"]) == ("INVALID", ["query"])
    assert why in error["message"]
    assert shop.sandbox.bulk.operations == {}


async def test_the_result_link_is_signed_dated_and_takes_no_admin_token(shop: Shop) -> None:
    await _orders(shop, 1)
    await shop.control("PUT", "/_sandbox/bulk", {"url_ttl_s": 3600})
    op = (await _run(shop))["bulkOperation"]
    shop.clock.advance(1)
    url = (await _gql(shop, STATUS, {"id": op["id"]}))["bulkOperation"]["url"]
    status, body = await _download(shop, url, **{"X-Shopify-Access-Token": "shpat_sandbox"})
    assert status == 400 and b"X-Shopify-Access-Token" in body
    assert (await _download(shop, url.replace("Signature=", "Signature=0")))[0] == 403
    assert (await _download(shop, url))[0] == 200
    shop.clock.advance(3600)
    assert (await _download(shop, url))[0] == 400  # ExpiredToken
    expired = (await _gql(shop, STATUS, {"id": op["id"]}))["bulkOperation"]
    assert expired["status"] == "EXPIRED"


async def test_a_failed_operation_says_why_and_leaves_partial_data(shop: Shop) -> None:
    await _orders(shop, 4)
    await shop.control("PUT", "/_sandbox/bulk", {"fail": "INTERNAL_SERVER_ERROR"})
    op = (await _run(shop))["bulkOperation"]
    shop.clock.advance(1)
    failed = (await _gql(shop, STATUS, {"id": op["id"]}))["bulkOperation"]
    assert (failed["status"], failed["errorCode"], failed["url"]) == ("FAILED", "INTERNAL_SERVER_ERROR", None)
    status, body = await _download(shop, failed["partialDataUrl"])
    assert status == 200 and 0 < len(body.splitlines()) < int(failed["objectCount"])


async def test_bulk_operations_draw_nothing_from_the_bucket_but_the_requests(shop: Shop) -> None:
    await _orders(shop, 40, lines=5)
    before = shop.sandbox.bucket.status()["currentlyAvailable"]
    op = (await _run(shop))["bulkOperation"]
    await _gql(shop, STATUS, {"id": op["id"]})
    after = shop.sandbox.bucket.status()["currentlyAvailable"]
    assert before - after == 10 + 1  # the mutation and one poll; 40 orders with 5 lines each cost nothing
