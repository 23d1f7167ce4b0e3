"""The sandbox on its own: Criteria subset, state machine, control API, errors, spec check."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from sandboxes.kit import LoggedExchange
from sandboxes.shopware import CLIENT_ID, CLIENT_SECRET, create_app
from tests.adapters.shopware.conftest import Sandbox
from tests.adapters.shopware.spec_check import assert_traffic_valid, spec_check


async def admin(
    sandbox: Sandbox, method: str, path: str, body: Any = None, **headers: str
) -> tuple[int, Any]:
    async with sandbox.session.post(
        f"{sandbox.url}/api/oauth/token",
        json={"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    ) as response:
        token = (await response.json())["access_token"]
    all_headers = {"Authorization": f"Bearer {token}", "Accept": "application/json", **headers}
    async with sandbox.session.request(
        method, f"{sandbox.url}/api/{path}", json=body, headers=all_headers
    ) as answer:
        return answer.status, await answer.json() if answer.status != 204 else None


async def numbers(sandbox: Sandbox, criteria: dict[str, Any]) -> list[str]:
    status, body = await admin(sandbox, "POST", "search/product", criteria)
    assert status == 200, body
    return [row["productNumber"] for row in body["data"]]


async def test_criteria_subset(sandbox: Sandbox) -> None:
    for sku, stock in (("A", 5), ("B", 0), ("C", 12), ("D", 7)):
        await sandbox.product(sku, stock=stock)
    assert await numbers(
        sandbox, {"filter": [{"type": "equals", "field": "productNumber", "value": "B"}]}
    ) == ["B"]
    assert await numbers(
        sandbox, {"filter": [{"type": "equalsAny", "field": "productNumber", "value": ["A", "D"]}]}
    ) == ["A", "D"]
    in_range = {"filter": [{"type": "range", "field": "stock", "parameters": {"gte": 5, "lt": 12}}]}
    assert await numbers(sandbox, in_range) == ["A", "D"]
    either = {
        "type": "multi",
        "operator": "or",
        "queries": [
            {"type": "equals", "field": "stock", "value": 0},
            {"type": "range", "field": "stock", "parameters": {"gt": 10}},
        ],
    }
    assert await numbers(sandbox, {"filter": [either]}) == ["B", "C"]
    both = {
        "type": "multi",
        "operator": "and",
        "queries": [
            {"type": "range", "field": "stock", "parameters": {"gt": 1}},
            {"type": "prefix", "field": "productNumber", "value": "D"},
        ],
    }
    assert await numbers(sandbox, {"filter": [both]}) == ["D"]
    neither = {
        "type": "not",
        "operator": "or",
        "queries": [{"type": "equalsAny", "field": "productNumber", "value": ["A", "B"]}],
    }
    assert await numbers(sandbox, {"filter": [neither]}) == ["C", "D"]
    by_stock = {"sort": [{"field": "stock", "order": "DESC"}], "limit": 2, "page": 2}
    assert await numbers(sandbox, by_stock) == ["A", "B"]


async def test_criteria_errors_are_spec_shaped(sandbox: Sandbox) -> None:
    await sandbox.product("A")
    await sandbox.order(("A", 1))
    status, body = await admin(
        sandbox, "POST", "search/product", {"filter": [{"type": "equals", "field": "nope", "value": 1}]}
    )
    assert status == 400 and body["errors"][0]["code"] == "FRAMEWORK__INVALID_FILTER_QUERY"
    status, body = await admin(sandbox, "POST", "search/order", {"associations": {"nope": {}}})
    assert status == 400 and body["errors"][0]["code"] == "FRAMEWORK__ASSOCIATION_NOT_FOUND"
    status, body = await admin(sandbox, "POST", "search/order", {"aggregations": []})
    assert status == 400 and "aggregations" in body["errors"][0]["detail"]
    assert_traffic_valid(sandbox.version, sandbox.kit.log.entries())


async def test_nested_association_filter_fans_out(sandbox: Sandbox) -> None:
    await sandbox.product("A")
    first = await sandbox.order(("A", 1), shipping_method="DHL")
    await sandbox.order(("A", 1), shipping_method="UPS")
    criteria = {"filter": [{"type": "equals", "field": "deliveries.shippingMethod.name", "value": "DHL"}]}
    status, body = await admin(sandbox, "POST", "search/order", criteria)
    assert status == 200 and [row["id"] for row in body["data"]] == [first["id"]]


async def test_state_machine_uses_shopware_names(sandbox: Sandbox) -> None:
    await sandbox.product("A")
    order = await sandbox.order(("A", 1))
    delivery = (await sandbox.control("GET", f"orders/{order['id']}"))["deliveries"][0]["id"]
    status, body = await admin(sandbox, "POST", f"_action/order_delivery/{delivery}/state/ship_partially")
    assert status == 200 and body["data"]["technicalName"] == "shipped_partially"
    status, body = await admin(sandbox, "POST", f"_action/order_delivery/{delivery}/state/ship_partially")
    assert status == 400
    error = body["errors"][0]
    assert error["code"] == "SYSTEM__ILLEGAL_STATE_TRANSITION"
    assert error["detail"].startswith('Illegal transition "ship_partially" from state "shipped_partially"')
    assert "retour" in error["detail"]
    status, _ = await admin(sandbox, "POST", f"_action/order/{order['id']}/state/complete")
    assert status == 400  # an open order must be processed first
    status, body = await admin(sandbox, "POST", f"_action/order/{'f' * 32}/state/cancel")
    assert status == 400 and body["errors"][0]["code"] == "SYSTEM__STATE_MACHINE_INVALID_ENTITY_ID"
    assert_traffic_valid(sandbox.version, sandbox.kit.log.entries())


async def test_routes_need_a_token_and_plain_json(sandbox: Sandbox) -> None:
    async with sandbox.session.get(f"{sandbox.url}/api/_info/version") as response:
        assert response.status == 401
        assert (await response.json())["errors"][0]["status"] == "401"
    status, body = await admin(sandbox, "GET", "_info/version", Accept="application/vnd.api+json")
    assert status == 400 and "Accept" in body["errors"][0]["detail"]
    status, body = await admin(sandbox, "GET", "_info/version")
    assert body == {"version": "6.7.9.1" if sandbox.version == "6.7" else "6.6.10.13"}


async def test_control_api_world(sandbox: Sandbox) -> None:
    await sandbox.product("A", stock=10)
    created = await sandbox.order(("A", 3), tags=["b2b"], digital_lines=[{"sku": "EBOOK", "qty": 1}])
    assert set(created) == {"id", "number"}
    assert await sandbox.control("GET", "stock") == {"A": 7}
    shown = await sandbox.control("GET", f"orders/{created['id']}")
    assert shown["orderNumber"] == created["number"] and shown["deliveries"][0]["trackingCodes"] == []
    # A download is a good too; 6.6 tells it by its state, 6.7 by payload.productType.
    if sandbox.version == "6.6":
        marks = [(i["payload"]["productNumber"], i["good"], i["states"]) for i in shown["lineItems"]]
        assert marks == [("A", True, ["is-physical"]), ("EBOOK", True, ["is-download"])]
    else:
        marks = [
            (i["payload"]["productNumber"], i["good"], i["payload"]["productType"])
            for i in shown["lineItems"]
        ]
        assert marks == [("A", True, "physical"), ("EBOOK", True, "digital")]
    await sandbox.control("PATCH", f"orders/{created['id']}", {"lines": [{"sku": "A", "qty": 1}]})
    assert await sandbox.control("GET", "stock") == {"A": 9}
    await sandbox.control("POST", f"orders/{created['id']}/cancel")
    assert await sandbox.control("GET", "stock") == {"A": 10}
    async with sandbox.session.post(f"{sandbox.url}/_sandbox/orders", json={"lines": []}) as response:
        assert response.status == 400 and "lines" in (await response.json())["error"]
    await sandbox.control("POST", "reset")
    assert await sandbox.control("GET", "stock") == {}


def test_unknown_knobs_and_versions_are_refused() -> None:
    with pytest.raises(TypeError, match="knobs"):
        create_app("6.7", shards=3)
    with pytest.raises(ValueError, match=r"6\.5"):
        create_app("6.5")


def test_the_spec_check_catches_violations() -> None:
    bad = LoggedExchange(
        seq=1,
        method="POST",
        path="/api/search/order",
        query="",
        request_headers={"Content-Type": "application/json"},
        request_body=b'{"limit": "ten"}',
        status=200,
        response_headers={"Content-Type": "application/json"},
        response_body=b'{"data": [{"id": "not-hex"}]}',
        injected=False,
    )
    problems = spec_check("6.7").problems(bad)
    assert any(p.startswith("request") for p in problems) and any(p.startswith("response") for p in problems)
    undeclared = dataclasses.replace(
        bad,
        path=f"/api/_action/order/{'a' * 32}/state/cancel",
        request_headers={},
        request_body=b"",
        status=400,
        response_body=b'{"errors": [{"nope": 1}]}',
    )
    assert any("failure" in p for p in spec_check("6.7").problems(undeclared))
