"""The Shopify sandbox delivers webhooks as Shopify does, and each fault knob does what it says."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from typing import Any
from urllib.parse import quote

import orjson

from sandboxes.shopify import TEST_APP_SECRET
from sandboxes.shopify.webhooks import RETRY_DELAYS_S
from tests.adapters.shopify.conftest import Shop
from tests.sandboxes.webhook_receiver import Receiver


async def _subscribe(shop: Shop, receiver: Receiver, *topics: str) -> None:
    for topic in topics:
        status, answer = await shop.graphql(
            "mutation($t: WebhookSubscriptionTopic!, $s: WebhookSubscriptionInput!) { "
            "webhookSubscriptionCreate(topic: $t, webhookSubscription: $s) { userErrors { message } } }",
            {"t": topic, "s": {"uri": receiver.url(), "format": "JSON"}},
        )
        assert status == 200 and answer["data"]["webhookSubscriptionCreate"]["userErrors"] == [], answer


def _valid(headers: Any, body: bytes, secret: str = TEST_APP_SECRET) -> bool:
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, headers["X-Shopify-Hmac-Sha256"])


async def _knobs(shop: Shop, **knobs: Any) -> None:
    await shop.control("PUT", "/_sandbox/webhooks", knobs)


async def test_each_change_is_delivered_with_shopify_headers_and_signature(
    shop: Shop, receiver: Receiver
) -> None:
    await _subscribe(
        shop, receiver, "ORDERS_CREATE", "ORDERS_UPDATED", "ORDERS_CANCELLED",
        "FULFILLMENT_ORDERS_HOLD_RELEASED", "PRODUCTS_CREATE", "PRODUCTS_UPDATE",
    )  # fmt: skip
    await shop.product("A")
    await shop.product("A", name="renamed")
    order = await shop.order([{"sku": "A", "qty": 1}], hold="HIGH_RISK_OF_FRAUD")
    await shop.control("POST", f"/_sandbox/orders/{quote(order['id'], safe='')}/release")
    await shop.control("PATCH", f"/_sandbox/orders/{quote(order['id'], safe='')}", {"note": "gift"})
    await shop.control("POST", f"/_sandbox/orders/{quote(order['id'], safe='')}/cancel")
    await shop.sandbox.webhooks.deliveries.settle()

    assert receiver.topics("X-Shopify-Topic") == [
        "products/create",
        "products/update",
        "orders/create",
        "fulfillment_orders/hold_released",
        "orders/updated",
        "orders/cancelled",
        "orders/updated",
    ]
    for got in receiver.received:
        assert _valid(got.headers, got.body)
        assert got.headers["X-Shopify-Shop-Domain"] == "ffn-sync-sandbox.myshopify.com"
        assert got.headers["X-Shopify-API-Version"] == "2026-10"
        assert got.headers["Content-Type"] == "application/json"
        assert got.headers["X-Shopify-Triggered-At"].startswith("2026-11-23T10:00:00")
    assert len({r.headers["X-Shopify-Webhook-Id"] for r in receiver.received}) == len(receiver.received)
    bodies = [orjson.loads(r.body) for r in receiver.received]
    assert bodies[2]["admin_graphql_api_id"] == order["id"] and bodies[2]["line_items"][0]["sku"] == "A"
    assert bodies[3]["fulfillment_order"]["status"] == "open"
    assert bodies[5]["cancelled_at"] is not None and bodies[4]["note"] == "gift"


async def test_the_shop_answers_before_the_delivery_is_made(shop: Shop, receiver: Receiver) -> None:
    await _subscribe(shop, receiver, "ORDERS_CREATE")
    receiver.gate = asyncio.Event()
    order = await asyncio.wait_for(shop.order([{"sku": "A", "qty": 1}]), timeout=5)
    assert order["id"]
    receiver.gate.set()
    await shop.sandbox.webhooks.deliveries.settle()
    assert receiver.topics("X-Shopify-Topic") == ["orders/create"]


async def test_a_failed_delivery_is_retried_with_the_same_payload_and_id(
    shop: Shop, receiver: Receiver
) -> None:
    await _subscribe(shop, receiver, "ORDERS_CREATE")
    receiver.status = 500
    await shop.order([{"sku": "A", "qty": 1}])
    await shop.sandbox.webhooks.deliveries.settle()
    assert len(receiver.received) == 1
    shop.clock.advance(RETRY_DELAYS_S[0] - 1)
    await shop.sandbox.webhooks.deliveries.settle()
    assert len(receiver.received) == 1  # not due yet
    shop.clock.advance(1)
    receiver.status = 200
    await shop.sandbox.webhooks.deliveries.settle()

    first, retry = receiver.received
    assert retry.body == first.body
    assert retry.headers["X-Shopify-Webhook-Id"] == first.headers["X-Shopify-Webhook-Id"]
    assert [s["failures"] for s in shop.sandbox.webhooks.listing()] == [0]
    shop.clock.advance(sum(RETRY_DELAYS_S))
    await shop.sandbox.webhooks.deliveries.settle()
    assert len(receiver.received) == 2  # delivered: no more attempts


async def test_a_subscription_failing_8_times_in_a_row_is_deleted(shop: Shop, receiver: Receiver) -> None:
    await _subscribe(shop, receiver, "ORDERS_CREATE")
    receiver.status = 503
    await shop.order([{"sku": "A", "qty": 1}])
    for delay in [0.0, *RETRY_DELAYS_S]:
        shop.clock.advance(delay)
        await shop.sandbox.webhooks.deliveries.settle()

    assert len(receiver.received) == 8
    assert shop.sandbox.webhooks.listing() == []
    await shop.order([{"sku": "A", "qty": 1}])
    await shop.sandbox.webhooks.deliveries.settle()
    assert len(receiver.received) == 8


async def test_subscription_api_refuses_what_shopify_refuses(shop: Shop) -> None:
    query = (
        "mutation($s: WebhookSubscriptionInput!) { webhookSubscriptionCreate(topic: ORDERS_CREATE, "
        "webhookSubscription: $s) { webhookSubscription { id } userErrors { field message } } }"
    )
    plain_http = {"uri": "http://hooks.example.com/x"}
    _, answer = await shop.graphql(query, {"s": plain_http})
    assert answer["data"]["webhookSubscriptionCreate"]["userErrors"][0]["message"] == (
        "Address protocol http:// is not supported"
    )
    _, first = await shop.graphql(query, {"s": {"uri": "https://hooks.example.com/x"}})
    _, again = await shop.graphql(query, {"s": {"uri": "https://hooks.example.com/x"}})
    assert first["data"]["webhookSubscriptionCreate"]["userErrors"] == []
    assert again["data"]["webhookSubscriptionCreate"]["userErrors"][0]["message"] == (
        "Address for this topic has already been taken"
    )
    _, deprecated = await shop.graphql(query, {"s": {"callbackUrl": "https://hooks.example.com/y"}})
    assert "errors" in deprecated  # 2026-01 deprecates callbackUrl; the sandbox takes uri only


# fault knobs -------------------------------------------------------------------------------------------


async def test_drop_loses_deliveries_for_good(shop: Shop, receiver: Receiver) -> None:
    await _subscribe(shop, receiver, "ORDERS_CREATE")
    await _knobs(shop, drop_rate=1.0)
    await shop.order([{"sku": "A", "qty": 1}])
    await shop.sandbox.webhooks.deliveries.settle()
    shop.clock.advance(sum(RETRY_DELAYS_S))
    await shop.sandbox.webhooks.deliveries.settle()
    state = await shop.control("GET", "/_sandbox/webhooks")
    assert receiver.received == [] and state["dropped"] == 1 and state["pending"] == 0


async def test_drop_rate_is_a_share(shop: Shop, receiver: Receiver) -> None:
    await _subscribe(shop, receiver, "ORDERS_CREATE")
    await _knobs(shop, drop_rate=0.3, seed=7)
    for _ in range(100):
        await shop.order([{"sku": "A", "qty": 1}])
    await shop.sandbox.webhooks.deliveries.settle()
    assert 15 <= 100 - len(receiver.received) <= 45


async def test_duplicate_sends_the_same_delivery_twice(shop: Shop, receiver: Receiver) -> None:
    await _subscribe(shop, receiver, "ORDERS_CREATE")
    await _knobs(shop, duplicate_rate=1.0)
    await shop.order([{"sku": "A", "qty": 1}])
    await shop.sandbox.webhooks.deliveries.settle()
    first, second = receiver.received
    assert first.body == second.body
    assert first.headers["X-Shopify-Webhook-Id"] == second.headers["X-Shopify-Webhook-Id"]


async def test_delay_holds_deliveries_on_the_sandbox_clock(shop: Shop, receiver: Receiver) -> None:
    await _subscribe(shop, receiver, "ORDERS_CREATE")
    await _knobs(shop, delay_s=30)
    await shop.order([{"sku": "A", "qty": 1}])
    await shop.sandbox.webhooks.deliveries.settle()
    assert receiver.received == []
    shop.clock.advance(30)
    await shop.sandbox.webhooks.deliveries.settle()
    assert len(receiver.received) == 1


async def test_reorder_sends_each_group_newest_first(shop: Shop, receiver: Receiver) -> None:
    await _subscribe(shop, receiver, "ORDERS_CREATE")
    await _knobs(shop, reorder=2)
    first = await shop.order([{"sku": "A", "qty": 1}])
    second = await shop.order([{"sku": "A", "qty": 1}])
    third = await shop.order([{"sku": "A", "qty": 1}])
    await shop.sandbox.webhooks.deliveries.settle()
    assert [orjson.loads(r.body)["admin_graphql_api_id"] for r in receiver.received] == [
        second["id"],
        first["id"],
    ]
    shop.clock.advance(2)  # reorder_wait_s: a short group goes out too
    await shop.sandbox.webhooks.deliveries.settle()
    assert orjson.loads(receiver.received[-1].body)["admin_graphql_api_id"] == third["id"]


async def test_wrong_signature_signs_with_another_key(shop: Shop, receiver: Receiver) -> None:
    await _subscribe(shop, receiver, "ORDERS_CREATE")
    await _knobs(shop, wrong_signature_rate=1.0)
    await shop.order([{"sku": "A", "qty": 1}])
    await shop.sandbox.webhooks.deliveries.settle()
    got = receiver.received[0]
    assert not _valid(got.headers, got.body)


async def test_disable_after_failures_and_retry_delays_are_knobs(shop: Shop, receiver: Receiver) -> None:
    await _subscribe(shop, receiver, "ORDERS_CREATE")
    await _knobs(shop, disable_after_failures=3, retry_delays_s=[0, 0, 0, 0])
    receiver.status = 500
    await shop.order([{"sku": "A", "qty": 1}])
    await shop.sandbox.webhooks.deliveries.settle()
    assert len(receiver.received) == 3 and shop.sandbox.webhooks.listing() == []


async def test_knobs_are_validated_and_reset(shop: Shop) -> None:
    async with shop.session.put(shop.server.make_url("/_sandbox/webhooks"), json={"drop": 1}) as response:
        assert response.status == 400 and "unknown webhook knobs" in (await response.json())["error"]
    async with shop.session.put(
        shop.server.make_url("/_sandbox/webhooks"), json={"drop_rate": 2}
    ) as response:
        assert response.status == 400
    await _knobs(shop, drop_rate=0.5)
    await shop.control("POST", "/_sandbox/reset")
    assert (await shop.control("GET", "/_sandbox/webhooks"))["knobs"]["drop_rate"] == 0.0
