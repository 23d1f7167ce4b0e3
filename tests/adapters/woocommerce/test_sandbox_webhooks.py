"""The WooCommerce sandbox's /wc/v3/webhooks and its deliveries, as WC_Webhook and its controllers do them."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import orjson
import pytest

from sandboxes.woocommerce import WEBHOOKS_KEY
from sandboxes.woocommerce.webhooks import WooWebhooks
from tests.adapters.woocommerce.conftest import Shop, doc_example
from tests.adapters.woocommerce.shapes import shape_diff
from tests.sandboxes.webhook_receiver import Receiver

SECRET = "s3cret"


def sandbox(shop: Shop) -> WooWebhooks:
    return shop.server.app[WEBHOOKS_KEY]


async def _create(shop: Shop, receiver: Receiver, topic: str) -> dict[str, Any]:
    body = {"name": f"test {topic}", "topic": topic, "delivery_url": receiver.url(), "secret": SECRET}
    created: dict[str, Any] = await shop.vendor("POST", "/wc/v3/webhooks", body)
    return created


async def _raw(shop: Shop, method: str, path: str, body: Any = None, **params: Any) -> tuple[int, Any]:
    import yarl

    from tests.adapters.woocommerce.conftest import signed_url

    url = yarl.URL(shop.url + "/wp-json" + path).with_query(params or None)
    signed = yarl.URL(signed_url(str(url), method, shop.clock.now()), encoded=True)
    async with shop.session.request(method, signed, json=body) as response:
        return response.status, await response.json()


def _events(receiver: Receiver) -> list[tuple[str, Any]]:
    return [
        (r.headers["X-WC-Webhook-Topic"], orjson.loads(r.body)["id"])
        for r in receiver.received
        if "X-WC-Webhook-Topic" in r.headers
    ]


async def test_create_pings_the_address_and_no_answer_shows_the_secret(
    shop: Shop, receiver: Receiver
) -> None:
    receiver.status = 500  # a failing ping does not fail the creation
    created = await _create(shop, receiver, "order.created")

    # WooCommerce's schema declares ``secret`` but prepare_item_for_response never returns it.
    assert created["status"] == "active" and "secret" not in created
    assert sandbox(shop).listing()[0]["secret"] == SECRET  # it was stored, and signs the deliveries
    assert (created["resource"], created["event"]) == ("order", "created")
    ping = receiver.received[0]
    assert ping.body == f"webhook_id={created['id']}".encode()
    assert "X-WC-Webhook-Signature" not in ping.headers
    for context in ("view", "edit"):
        assert "secret" not in (await shop.vendor("GET", "/wc/v3/webhooks", context=context))[0]
        assert "secret" not in await shop.vendor("GET", f"/wc/v3/webhooks/{created['id']}", context=context)
    updated = await shop.vendor("PUT", f"/wc/v3/webhooks/{created['id']}", {"secret": "another-secret"})
    assert "secret" not in updated
    assert sandbox(shop).listing()[0]["secret"] == "another-secret"


async def test_webhook_json_has_the_fields_of_the_v3_docs(shop: Shop, receiver: Receiver) -> None:
    created = await _create(shop, receiver, "order.created")
    assert shape_diff(doc_example("webhooks__create-a-webhook.response"), created) == []


@pytest.mark.parametrize(
    ("method", "path", "body", "params", "status", "code"),
    [
        ("POST", "/wc/v3/webhooks", {"topic": "order.shipped", "delivery_url": "https://x.example"}, {}, 400,
         "woocommerce_rest_shop_webhook_invalid_topic"),
        ("POST", "/wc/v3/webhooks", {"topic": "order.created", "delivery_url": "ftp://x"}, {}, 400,
         "woocommerce_rest_shop_webhook_invalid_delivery_url"),
        ("PUT", "/wc/v3/webhooks/1", {"status": "sleeping"}, {}, 400, "woocommerce_rest_shop_webhook_invalid_status"),
        ("DELETE", "/wc/v3/webhooks/1", None, {}, 501, "woocommerce_rest_trash_not_supported"),
        ("DELETE", "/wc/v3/webhooks/99", None, {"force": "true"}, 404, "woocommerce_rest_shop_webhook_invalid_id"),
    ],
    ids=["bad-topic", "bad-url", "bad-status", "delete-without-force", "delete-unknown"],
)  # fmt: skip
async def test_the_api_refuses_what_woocommerce_refuses(
    shop: Shop,
    receiver: Receiver,
    method: str,
    path: str,
    body: Any,
    params: dict[str, str],
    status: int,
    code: str,
) -> None:
    await _create(shop, receiver, "order.created")
    got_status, answer = await _raw(shop, method, path, body, **params)
    assert (got_status, answer["code"]) == (status, code)


async def test_changes_are_delivered_signed_with_the_webhooks_secret(shop: Shop, receiver: Receiver) -> None:
    await shop.product("A", name="Ant", stock=10)
    for topic in ("order.created", "order.updated", "order.deleted", "product.updated"):
        await _create(shop, receiver, topic)
    order = await shop.order([("A", 1)])
    await shop.vendor("PUT", f"/wc/v3/orders/{order['id']}", {"status": "completed", "customer_note": "x"})
    await shop.vendor("DELETE", f"/wc/v3/orders/{order['id']}")
    await sandbox(shop).deliveries.settle()

    events = _events(receiver)
    assert ("order.created", order["id"]) in events
    assert ("order.updated", order["id"]) in events
    assert ("order.deleted", order["id"]) in events
    deliveries = [r for r in receiver.received if "X-WC-Webhook-Topic" in r.headers]
    for got in deliveries:
        expected = base64.b64encode(hmac.new(SECRET.encode(), got.body, hashlib.sha256).digest()).decode()
        assert got.headers["X-WC-Webhook-Signature"] == expected
        topic = got.headers["X-WC-Webhook-Topic"]
        assert got.headers["X-WC-Webhook-Resource"] + "." + got.headers["X-WC-Webhook-Event"] == topic
        assert got.headers["X-WC-Webhook-Source"] == shop.url + "/"
        assert got.headers["X-WC-Webhook-Delivery-ID"]
    deleted = next(r for r in deliveries if r.headers["X-WC-Webhook-Topic"] == "order.deleted")
    assert orjson.loads(deleted.body) == {"id": order["id"]}
    created = next(r for r in deliveries if r.headers["X-WC-Webhook-Topic"] == "order.created")
    assert orjson.loads(created.body)["line_items"][0]["sku"] == "A"


async def test_saves_within_one_request_deliver_once(shop: Shop, receiver: Receiver) -> None:
    order = await shop.order([("A", 1)])
    await _create(shop, receiver, "order.updated")
    state = sandbox(shop).state
    record = state.orders[order["id"]]
    state.touch_order(record)  # two saves in one go, as a checkout or a refund makes them
    state.touch_order(record)
    await sandbox(shop).deliveries.settle()
    assert _events(receiver) == [("order.updated", order["id"])]


async def test_five_failures_in_a_row_disable_the_webhook_and_a_success_resets_the_count(
    shop: Shop, receiver: Receiver
) -> None:
    hook = await _create(shop, receiver, "order.created")
    receiver.status = 500
    for _ in range(4):
        await shop.order([("A", 1)])
    await sandbox(shop).deliveries.settle()
    receiver.status = 302  # WooCommerce counts 301/302 as delivered
    await shop.order([("A", 1)])
    await sandbox(shop).deliveries.settle()
    assert [h["failure_count"] for h in sandbox(shop).listing()] == [0]
    receiver.status = 500
    for _ in range(7):
        await shop.order([("A", 1)])
    await sandbox(shop).deliveries.settle()

    deliveries = [r for r in receiver.received if "X-WC-Webhook-Topic" in r.headers]
    assert len(deliveries) == 4 + 1 + 5  # never retried; nothing after the 5th failure in a row
    assert (await shop.vendor("GET", f"/wc/v3/webhooks/{hook['id']}"))["status"] == "disabled"


async def test_a_paused_webhook_delivers_nothing(shop: Shop, receiver: Receiver) -> None:
    hook = await _create(shop, receiver, "order.created")
    await shop.vendor("PUT", f"/wc/v3/webhooks/{hook['id']}", {"status": "paused"})
    await shop.order([("A", 1)])
    await sandbox(shop).deliveries.settle()
    assert _events(receiver) == []
