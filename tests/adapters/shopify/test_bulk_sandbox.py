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


def test_the_pinned_schema_documents_grouping_and_one_query_at_a_time() -> None:
    # What the sandbox's defaults rest on: Shopify's own text of the 2026-01 schema (the newest published;
    # the pinned 2026-10 is served with it).
    run = full_schema("2026-01").mutation_type.fields["bulkOperationRunQuery"]  # type: ignore[union-attr]
    assert "one bulk query operation and one bulk mutation operation at a time per shop" in " ".join(
        (run.description or "").split()
    )
    grouping = run.args["groupObjects"]
    assert "directly under their corresponding parent objects" in " ".join(
        (grouping.description or "").split()
    )


TYPED = ORDERS.replace("{ remainingQuantity }", "{ __typename remainingQuantity }")


def _shape(lines: list[dict[str, Any]]) -> list[str]:
    return [str(line.get("__typename", "Order")) for line in lines]


@pytest.mark.parametrize(
    ("knobs", "one_order"),
    [
        # The stricter reading (default): an order's group, level by level — its children, then theirs.
        (
            {},
            [
                "Order",
                "LineItem",
                "LineItem",
                "FulfillmentOrder",
                "FulfillmentOrderLineItem",
                "FulfillmentOrderLineItem",
            ],
        ),
        # The other reading (knob): each child followed by its own children.
        (
            {"grouping": "depth"},
            [
                "Order",
                "LineItem",
                "LineItem",
                "FulfillmentOrder",
                "FulfillmentOrderLineItem",
                "FulfillmentOrderLineItem",
            ],
        ),
    ],
    ids=["levels", "depth"],
)
async def test_grouped_output_puts_every_line_of_an_order_before_the_next_order(
    shop: Shop, knobs: dict[str, Any], one_order: list[str]
) -> None:
    await _orders(shop, 2)
    await shop.control("PUT", "/_sandbox/bulk", knobs)
    op = (await _run(shop, TYPED, grouped=True))["bulkOperation"]
    shop.clock.advance(1)
    url = (await _gql(shop, STATUS, {"id": op["id"]}))["bulkOperation"]["url"]
    lines = [orjson.loads(line) for line in (await _download(shop, url))[1].splitlines()]
    assert _shape(lines) == one_order * 2
    first, second = lines[: len(one_order)], lines[len(one_order) :]
    for group in (first, second):
        ids = {line.get("id") for line in group}
        assert all(line["__parentId"] in ids for line in group[1:])  # nothing of the other order


async def test_depth_first_grouping_puts_a_childs_children_right_after_it(shop: Shop) -> None:
    for i in range(2):
        await shop.product(f"B-{i}")
    elsewhere = (await shop.control("POST", "/_sandbox/locations", {"name": "Shop floor"}))["id"]
    await shop.order([{"sku": "B-0", "qty": 1}, {"sku": "B-1", "qty": 1, "location": elsewhere}])  # two FOs
    query = """{ orders { edges { node { id
      fulfillmentOrders { nodes { __typename id lineItems { edges { node { __typename remainingQuantity } } } } }
    } } } }"""
    shapes = {}
    for grouping in ("levels", "depth"):
        await shop.control("PUT", "/_sandbox/bulk", {"grouping": grouping})
        op = (await _run(shop, query, grouped=True))["bulkOperation"]
        shop.clock.advance(1)
        url = (await _gql(shop, STATUS, {"id": op["id"]}))["bulkOperation"]["url"]
        shapes[grouping] = _shape([orjson.loads(x) for x in (await _download(shop, url))[1].splitlines()])
    fo, fo_line = "FulfillmentOrder", "FulfillmentOrderLineItem"
    assert shapes["levels"] == ["Order", fo, fo, fo_line, fo_line]
    assert shapes["depth"] == ["Order", fo, fo_line, fo, fo_line]


LIST = """query List($q: String, $first: Int!, $reverse: Boolean) {
  bulkOperations(first: $first, query: $q, reverse: $reverse) {
    nodes { id status type query createdAt }
    pageInfo { hasNextPage }
  }
}"""


async def test_five_bulk_queries_run_at_once_from_2026_01_the_sixth_is_refused(shop: Shop) -> None:
    # The bulk operations guide (api-notes shopify.md §5.2): five per app and shop from 2026-01.
    for _ in range(5):
        assert (await _run(shop))["userErrors"] == []
    refused = await _run(shop)
    assert refused["bulkOperation"] is None
    assert refused["userErrors"] == [
        {
            "code": "LIMIT_REACHED",
            "field": None,
            "message": "Bulk operations limit reached. Please try again later.",
        }
    ]
    shop.clock.advance(1)
    assert (await _run(shop))["userErrors"] == []  # the first ones finished


async def test_one_at_a_time_is_the_stricter_reading_of_the_schema_text(shop: Shop) -> None:
    await shop.control("PUT", "/_sandbox/bulk", {"max_running": 1})
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


async def test_the_apps_operations_are_listed_newest_first_and_filtered(shop: Shop) -> None:
    await shop.control("PUT", "/_sandbox/bulk", {"delay_s": 10})
    done = (await _run(shop))["bulkOperation"]["id"]
    shop.clock.advance(11)
    running = [(await _run(shop))["bulkOperation"]["id"] for _ in range(2)]
    shop.clock.advance(3)
    listed = await _gql(shop, LIST, {"q": "operation_type:query", "first": 10})
    assert [n["id"] for n in listed["bulkOperations"]["nodes"]] == [*reversed(running), done]
    page = await _gql(shop, LIST, {"q": "status:running", "first": 1})
    assert [n["id"] for n in page["bulkOperations"]["nodes"]] == [running[1]]
    assert page["bulkOperations"]["pageInfo"]["hasNextPage"] is True
    oldest = await _gql(shop, LIST, {"q": "status:completed", "first": 5, "reverse": True})
    assert [n["id"] for n in oldest["bulkOperations"]["nodes"]] == [done]


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
