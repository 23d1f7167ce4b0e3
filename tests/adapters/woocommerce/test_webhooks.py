"""WooCommerce webhooks: registration against the sandbox and authentication of its genuine deliveries."""

from __future__ import annotations

import base64
import hashlib
import hmac

import orjson
import pytest

from adapters.woocommerce import WooCommerceChannel
from adapters.woocommerce.webhooks import Webhooks
from daemon.secrets import Secret
from daemon.webhooks.types import DeliveryRejected, RejectReason, WebhookCredentials, WebhookFlow
from sandboxes.woocommerce import WEBHOOKS_KEY
from sandboxes.woocommerce.webhooks import WooWebhooks
from tests.adapters.woocommerce.conftest import Shop
from tests.sandboxes.webhook_receiver import Receiver

SECRET = "generated-by-ffn-sync-0123456789abcdef"
CREDENTIALS = WebhookCredentials(secrets=(Secret(SECRET),))
ALL_FLOWS = (WebhookFlow.ORDERS, WebhookFlow.PRODUCTS)


def sandbox(shop: Shop) -> WooWebhooks:
    return shop.server.app[WEBHOOKS_KEY]


def _hooks(shop: Shop) -> list[tuple[str, str, str]]:
    return sorted((h["topic"], h["delivery_url"], h["status"]) for h in sandbox(shop).listing())


def _prefix(receiver: Receiver) -> str:
    return receiver.url("/webhooks/acme/woo")


async def test_registration_creates_every_topic_then_changes_nothing(
    shop: Shop, channel: WooCommerceChannel, receiver: Receiver
) -> None:
    hooks = Webhooks(channel)
    topics = hooks.topics(ALL_FLOWS)
    prefix = _prefix(receiver)

    first = await hooks.register(prefix, topics, CREDENTIALS, address_prefix=prefix)

    assert sorted(first.created) == sorted(topics)
    assert _hooks(shop) == sorted((t, prefix, "active") for t in topics)
    assert {h["secret"] for h in sandbox(shop).listing()} == {SECRET}
    # WooCommerce pinged each new webhook (form body, unsigned) and they were answered.
    pings = [r for r in receiver.received if r.body.startswith(b"webhook_id=")]
    assert len(pings) == len(topics)
    writes = len(shop.writes())

    second = await hooks.register(prefix, topics, CREDENTIALS, address_prefix=prefix)

    assert (second.created, second.updated, second.re_enabled, second.removed) == ((), (), (), ())
    assert len(shop.writes()) == writes
    assert all(s.active and s.address == prefix for s in second.subscriptions)


async def test_a_changed_address_and_a_changed_secret_are_set_in_place(
    shop: Shop, channel: WooCommerceChannel
) -> None:
    hooks = Webhooks(channel)
    prefix = "https://hooks.example.com/webhooks/acme/woo"
    first = await hooks.register(f"{prefix}", ["order.created"], CREDENTIALS, address_prefix=prefix)
    rotated = WebhookCredentials(secrets=(Secret("the-new-secret"), Secret(SECRET)))

    moved = await hooks.register(f"{prefix}/v2", ["order.created"], rotated, address_prefix=prefix)

    assert moved.updated == ("order.created",) and moved.created == ()
    assert [s.remote_id for s in moved.subscriptions] == [s.remote_id for s in first.subscriptions]
    assert [(h["delivery_url"], h["secret"]) for h in sandbox(shop).listing()] == [
        (f"{prefix}/v2", "the-new-secret")
    ]


async def test_during_a_rotation_every_kept_webhook_is_given_the_new_secret_though_the_shop_hides_it(
    shop: Shop, channel: WooCommerceChannel
) -> None:
    hooks = Webhooks(channel)
    prefix = "https://hooks.example.com/webhooks/acme/woo"
    topics = ["order.created", "order.updated"]
    await hooks.register(prefix, topics, CREDENTIALS, address_prefix=prefix)
    rotated = WebhookCredentials(secrets=(Secret("the-new-secret"), Secret(SECRET)))

    report = await hooks.register(prefix, topics, rotated, address_prefix=prefix)

    assert sorted(report.updated) == sorted(topics) and report.created == ()
    assert {h["secret"] for h in sandbox(shop).listing()} == {"the-new-secret"}
    # Once promoted (only the new secret left) nothing is written again.
    writes = len(shop.writes())
    promoted = WebhookCredentials(secrets=(Secret("the-new-secret"),))
    assert (await hooks.register(prefix, topics, promoted, address_prefix=prefix)).updated == ()
    assert len(shop.writes()) == writes


async def test_a_webhook_the_shop_disabled_after_failures_is_re_enabled(
    shop: Shop, channel: WooCommerceChannel, receiver: Receiver
) -> None:
    hooks = Webhooks(channel)
    prefix = _prefix(receiver)
    await hooks.register(prefix, ["order.created"], CREDENTIALS, address_prefix=prefix)
    receiver.status = 500
    sandbox(shop).deliveries.update_knobs({"disable_after_failures": 2})
    for _ in range(2):
        await shop.order([("A", 1)])
    await sandbox(shop).deliveries.settle()
    assert [s.active for s in await hooks.list_webhooks(prefix)] == [False]

    report = await hooks.register(prefix, ["order.created"], CREDENTIALS, address_prefix=prefix)

    assert report.re_enabled == ("order.created",) and report.updated == ()
    assert _hooks(shop) == [("order.created", prefix, "active")]
    receiver.status = 200
    await shop.order([("A", 1)])
    await sandbox(shop).deliveries.settle()
    assert receiver.received[-1].headers["X-WC-Webhook-Topic"] == "order.created"


async def test_a_webhook_paused_by_the_merchant_stays_paused(shop: Shop, channel: WooCommerceChannel) -> None:
    hooks = Webhooks(channel)
    prefix = "https://hooks.example.com/webhooks/acme/woo"
    first = await hooks.register(prefix, ["order.created"], CREDENTIALS, address_prefix=prefix)
    await shop.vendor("PUT", f"/wc/v3/webhooks/{first.subscriptions[0].remote_id}", {"status": "paused"})

    report = await hooks.register(prefix, ["order.created"], CREDENTIALS, address_prefix=prefix)

    assert report.re_enabled == () and [s.active for s in report.subscriptions] == [False]
    assert _hooks(shop) == [("order.created", prefix, "paused")]


async def test_ours_no_longer_wanted_are_removed_and_others_are_left_alone(
    shop: Shop, channel: WooCommerceChannel
) -> None:
    prefix = "https://hooks.example.com/webhooks/acme/woo"
    others = ["https://erp.example.com/hook", f"{prefix}-outlet"]
    for url in others:
        await shop.vendor("POST", "/wc/v3/webhooks", {"topic": "order.updated", "delivery_url": url})
    hooks = Webhooks(channel)
    await hooks.register(prefix, hooks.topics(ALL_FLOWS), CREDENTIALS, address_prefix=prefix)

    report = await hooks.register(prefix, ["order.created"], CREDENTIALS, address_prefix=prefix)

    assert sorted(report.removed) == sorted(t for t in hooks.topics(ALL_FLOWS) if t != "order.created")
    assert _hooks(shop) == sorted(
        [("order.created", prefix, "active")] + [("order.updated", url, "active") for url in others]
    )


# authentication -----------------------------------------------------------------------------------------


async def _delivered(
    shop: Shop, channel: WooCommerceChannel, receiver: Receiver, topics: list[str]
) -> Webhooks:
    hooks = Webhooks(channel)
    await hooks.register(_prefix(receiver), topics, CREDENTIALS, address_prefix=_prefix(receiver))
    return hooks


async def test_genuine_deliveries_and_the_ping_are_accepted(
    shop: Shop, channel: WooCommerceChannel, receiver: Receiver
) -> None:
    await shop.product("A", name="Ant")
    hooks = await _delivered(shop, channel, receiver, ["order.created", "product.created"])
    order = await shop.order([("A", 1)])
    product = await shop.product("B", name="Bee")
    await sandbox(shop).deliveries.settle()

    results = [hooks.authenticate(r.headers, r.body, CREDENTIALS, path_token=None) for r in receiver.received]

    assert [(d.topic, d.ping) for d in results] == [
        ("ping", True),
        ("ping", True),
        ("order.created", False),
        ("product.created", False),
    ]
    assert [d.resource_id for d in results[2:]] == [str(order["id"]), str(product["id"])]
    assert [d.flow for d in results[2:]] == [WebhookFlow.ORDERS, WebhookFlow.PRODUCTS]
    # WooCommerce's id repeats within a second (webhook id + time): never used to recognise repeats.
    assert receiver.received[2].headers["X-WC-Webhook-Delivery-ID"] and results[2].delivery_id is None


async def test_a_forged_delivery_is_refused(
    shop: Shop, channel: WooCommerceChannel, receiver: Receiver
) -> None:
    hooks = await _delivered(shop, channel, receiver, ["order.created"])
    sandbox(shop).deliveries.update_knobs({"wrong_signature_rate": 1.0})
    await shop.order([("A", 1)])
    await sandbox(shop).deliveries.settle()
    got = receiver.received[-1]

    with pytest.raises(DeliveryRejected) as refused:
        hooks.authenticate(got.headers, got.body, CREDENTIALS, path_token=None)
    assert refused.value.reason is RejectReason.BAD_SIGNATURE


def _signed(body: bytes, **headers: str) -> dict[str, str]:
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
    return {"X-WC-Webhook-Signature": base64.b64encode(digest).decode(), **headers}


@pytest.mark.parametrize(
    ("headers", "body", "reason"),
    [
        ({"X-WC-Webhook-Topic": "order.created"}, b'{"id": 1}', RejectReason.BAD_SIGNATURE),
        # Looks like a ping but claims a topic: not a ping, and unsigned.
        ({"X-WC-Webhook-Topic": "order.created"}, b"webhook_id=3", RejectReason.BAD_SIGNATURE),
        ({}, b"webhook_id=3&x=1", RejectReason.BAD_SIGNATURE),
        (
            _signed(b'{"id": 1}', **{"X-WC-Webhook-Topic": "coupon.created"}),
            b'{"id": 1}',
            RejectReason.UNKNOWN_TOPIC,
        ),
        (_signed(b'{"id": 1}'), b'{"id": 1}', RejectReason.MALFORMED),
        (_signed(b"<html>", **{"X-WC-Webhook-Topic": "order.created"}), b"<html>", RejectReason.MALFORMED),
        (
            _signed(b'{"id": 1}', **{"X-WC-Webhook-Topic": "order.created"}),
            b'{"id": 9}',
            RejectReason.BAD_SIGNATURE,
        ),
    ],
    ids=[
        "unsigned",
        "ping-with-topic",
        "not-a-ping",
        "unknown-topic",
        "no-topic",
        "not-json",
        "body-changed",
    ],
)
def test_bad_deliveries_are_refused_with_their_reason(
    headers: dict[str, str], body: bytes, reason: RejectReason
) -> None:
    with pytest.raises(DeliveryRejected) as refused:
        Webhooks.__new__(Webhooks).authenticate(headers, body, CREDENTIALS, path_token=None)
    assert refused.value.reason is reason


def test_a_trashed_order_names_its_id() -> None:
    body = orjson.dumps({"id": 812})
    delivery = Webhooks.__new__(Webhooks).authenticate(
        _signed(body, **{"x-wc-webhook-topic": "order.deleted"}), body, CREDENTIALS, path_token=None
    )
    assert (delivery.flow, delivery.resource_id, delivery.ping) == (WebhookFlow.ORDERS, "812", False)
