"""The Shopware sandbox's webhook entity and deliveries, as WebhookDispatcher and its message handler do them."""

from __future__ import annotations

from typing import Any

import orjson

from sandboxes.kit.webhooks import Deliveries
from tests.adapters.shopware.conftest import Sandbox
from tests.adapters.shopware.spec_check import assert_traffic_valid
from tests.sandboxes.webhook_receiver import Receiver


def outbox(sandbox: Sandbox) -> Deliveries:
    assert sandbox.shop.deliveries is not None
    return sandbox.shop.deliveries


def _subscribe(sandbox: Sandbox, receiver: Receiver, *events: str) -> list[dict[str, Any]]:
    rows = []
    for index, event in enumerate(events):
        row = {
            "id": f"{index + 1:032x}", "name": f"hook {event}", "eventName": event, "url": receiver.url("/hook/t"),
            "onlyLiveVersion": True, "errorCount": 0, "active": True, "appId": None,
            "createdAt": sandbox.shop.world.now(), "updatedAt": None,
        }  # fmt: skip
        rows.append(sandbox.shop.store.insert("webhook", row))
    return rows


async def _admin(
    sandbox: Sandbox, method: str, path: str, body: Any = None, **params: str
) -> tuple[int, Any]:
    async with sandbox.session.post(
        f"{sandbox.url}/api/oauth/token",
        json={"grant_type": "client_credentials", "client_id": "SWIASANDBOXACCESSKEY00000001",
              "client_secret": "sandbox-secret-access-key-0000000000000000000000"},
    ) as response:  # fmt: skip
        token = (await response.json())["access_token"]
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    async with sandbox.session.request(
        method, f"{sandbox.url}/api/{path}", json=body, params=params, headers=headers
    ) as response:
        text = await response.read()
        return response.status, orjson.loads(text) if text else None


async def test_events_are_delivered_in_shopwares_shape(sandbox: Sandbox, receiver: Receiver) -> None:
    _subscribe(
        sandbox, receiver, "product.written", "checkout.order.placed", "state_enter.order.state.cancelled"
    )
    product = await sandbox.product("A")
    await sandbox.control("PATCH", "products/A", {"stock": 7})
    order = await sandbox.order(("A", 2))
    await sandbox.control("POST", f"orders/{order['id']}/cancel")
    await outbox(sandbox).settle()

    bodies = [orjson.loads(r.body) for r in receiver.received]
    assert [b["data"]["event"] for b in bodies] == [
        "product.written", "product.written", "checkout.order.placed", "state_enter.order.state.cancelled",
    ]  # fmt: skip
    inserted, updated = bodies[0]["data"]["payload"][0], bodies[1]["data"]["payload"][0]
    assert (inserted["entity"], inserted["operation"], inserted["primaryKey"]) == (
        "product",
        "insert",
        product["id"],
    )
    assert updated["operation"] == "update" and "stock" in updated["updatedFields"]
    assert bodies[2]["data"]["payload"]["order"]["id"] == order["id"]
    assert bodies[2]["data"]["payload"]["order"]["lineItems"][0]["quantity"] == 2
    assert all(
        set(b) == {"data", "source", "timestamp"} and len(b["source"]["eventId"]) == 32 for b in bodies
    )
    for got in receiver.received:
        assert got.headers["sw-version"] == sandbox.shop.version
        assert got.headers["Content-Type"] == "application/json"
        assert "shopware-shop-signature" not in got.headers  # not an app: unsigned


async def test_a_failed_delivery_is_retried_three_times_then_counted(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    (hook,) = _subscribe(sandbox, receiver, "checkout.order.placed")
    await sandbox.product("A")
    receiver.status = 500
    await sandbox.order(("A", 1))
    for delay in (0, 1, 2, 4):
        sandbox.clock.advance(delay)
        await outbox(sandbox).settle()

    assert len(receiver.received) == 4
    assert len({orjson.loads(r.body)["source"]["eventId"] for r in receiver.received}) == 1
    assert hook["errorCount"] == 1 and hook["active"] is True
    receiver.status = 200
    await sandbox.order(("A", 1))
    await outbox(sandbox).settle()
    assert hook["errorCount"] == 0


async def test_ten_failed_deliveries_deactivate_the_webhook(sandbox: Sandbox, receiver: Receiver) -> None:
    (hook,) = _subscribe(sandbox, receiver, "checkout.order.placed")
    await sandbox.product("A")
    outbox(sandbox).update_knobs({"retry_delays_s": []})
    receiver.status = 500
    for _ in range(10):
        await sandbox.order(("A", 1))
    await outbox(sandbox).settle()
    assert (hook["active"], hook["errorCount"]) == (False, 0)

    await sandbox.order(("A", 1))
    await outbox(sandbox).settle()
    assert len(receiver.received) == 10


async def test_the_webhook_entity_api(sandbox: Sandbox, receiver: Receiver) -> None:
    status, _ = await _admin(
        sandbox, "POST", "webhook", {"id": "a" * 32, "eventName": "x", "url": "https://h"}
    )
    assert status == 400  # name is required
    status, answer = await _admin(
        sandbox,
        "POST",
        "webhook",
        {"id": "a" * 32, "name": "n", "eventName": "x", "url": "https://h", "errorCount": 3},
    )
    assert status == 400 and answer["errors"][0]["code"] == "FRAMEWORK__WRITE_PROTECTED"
    created = {"id": "a" * 32, "name": "n", "eventName": "product.written", "url": "https://h/1"}
    status, answer = await _admin(sandbox, "POST", "webhook", created, _response="basic")
    assert status == 200 and answer["data"]["active"] is True and answer["data"]["errorCount"] == 0
    status, answer = await _admin(sandbox, "POST", "webhook", created)
    assert status == 400  # the id exists: a create, not an update
    status, answer = await _admin(
        sandbox, "PATCH", f"webhook/{'a' * 32}", {"url": "https://h/2"}, _response="basic"
    )
    assert status == 200 and answer["data"]["url"] == "https://h/2" and answer["data"]["errorCount"] == 0
    status, answer = await _admin(
        sandbox,
        "POST",
        "search/webhook",
        {"filter": [{"type": "prefix", "field": "url", "value": "https://h"}]},
    )
    assert status == 200 and [r["id"] for r in answer["data"]] == ["a" * 32]
    assert (await _admin(sandbox, "DELETE", f"webhook/{'a' * 32}"))[0] == 204
    assert (await _admin(sandbox, "DELETE", f"webhook/{'a' * 32}"))[0] == 404
    # The refused requests are invalid on purpose; everything the sandbox accepted matches the spec.
    assert_traffic_valid(sandbox.version, [e for e in sandbox.kit.log.entries() if e.status < 400])


async def test_order_changes_are_written_events(sandbox: Sandbox, receiver: Receiver) -> None:
    _subscribe(sandbox, receiver, "order.written")
    await sandbox.product("A")
    order = await sandbox.order(("A", 1), paid=False)
    await sandbox.control("PATCH", f"orders/{order['id']}", {"note": "ring twice"})
    await sandbox.control("PATCH", f"orders/{order['id']}", {"paid": True})  # the transaction, not the order
    await sandbox.control("POST", f"orders/{order['id']}/cancel")
    await outbox(sandbox).settle()

    written = [orjson.loads(r.body)["data"]["payload"][0] for r in receiver.received]
    assert [(w["operation"], w["primaryKey"]) for w in written] == [("insert", order["id"])] + [
        ("update", order["id"])
    ] * 2
    assert "customerComment" in written[1]["updatedFields"] and "stateId" in written[2]["updatedFields"]
