"""Shopify webhooks: registration against the sandbox (idempotent, fixes, removals, others untouched),
documents valid for the official schema, and authentication of the sandbox's genuine deliveries."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import AsyncIterator
from typing import Any

import graphql
import orjson
import pytest

from adapters.shopify.webhooks import OPERATIONS, PAGE, Webhooks
from daemon.secrets import Secret
from daemon.webhooks.types import DeliveryRejected, RejectReason, WebhookCredentials, WebhookFlow
from sandboxes.shopify import TEST_APP_SECRET
from sandboxes.shopify.cost import CostContext
from sandboxes.shopify.endpoint import load_schema
from tests.adapters.shopify.conftest import Shop
from tests.adapters.shopify.real_schema import SCHEMA_VERSIONS, full_schema
from tests.sandboxes.webhook_receiver import Receiver

PREFIX = "https://hooks.example.com/webhooks/acme/shopify-main"
CREDENTIALS = WebhookCredentials(secrets=(Secret(TEST_APP_SECRET),))
ALL_FLOWS = (WebhookFlow.ORDERS, WebhookFlow.PRODUCTS)


@pytest.fixture
async def hooks(shop: Shop) -> AsyncIterator[Webhooks]:
    channel = shop.channel()
    try:
        yield Webhooks(channel)
    finally:
        await channel.aclose()


def _mutations(shop: Shop) -> list[str]:
    return [
        str(e.request_json()["query"]).split("(")[0].split()[-1]
        for e in shop.graphql_log()
        if str(e.request_json()["query"]).lstrip().startswith("mutation")
    ]


async def _subscriptions(shop: Shop) -> dict[str, str]:
    return {s["topic"]: s["uri"] for s in shop.sandbox.webhooks.listing()}


# documents ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
def test_every_webhook_document_is_valid_for_the_official_schema(version: str) -> None:
    schema = full_schema(version)
    problems = {op.name: graphql.validate(schema, graphql.parse(op.text)) for op in OPERATIONS}
    assert {name: errs for name, errs in problems.items() if errs} == {}


def test_webhook_documents_use_uri_not_the_deprecated_callback_url() -> None:
    for op in OPERATIONS:
        assert "callbackUrl" not in op.text
        assert graphql.validate(load_schema("2026-10"), graphql.parse(op.text)) == []


def test_list_estimate_matches_shopify_cost_rules() -> None:
    op = OPERATIONS[0]
    document = graphql.parse(op.text)
    operation = next(d for d in document.definitions if isinstance(d, graphql.OperationDefinitionNode))
    assert CostContext(load_schema(), {}, {"first": PAGE}).operation_cost(operation) == op.estimate


def test_topics_per_flow() -> None:
    hooks = Webhooks.__new__(Webhooks)
    assert hooks.topics([WebhookFlow.ORDERS]) == [
        "orders/create",
        "orders/updated",
        "orders/cancelled",
        "fulfillment_orders/hold_released",
    ]
    assert hooks.topics([WebhookFlow.PRODUCTS]) == ["products/create", "products/update"]


# registration -------------------------------------------------------------------------------------------


async def test_registration_creates_every_topic_then_changes_nothing(shop: Shop, hooks: Webhooks) -> None:
    topics = hooks.topics(ALL_FLOWS)
    first = await hooks.register(f"{PREFIX}", topics, CREDENTIALS, address_prefix=PREFIX)
    assert sorted(first.created) == sorted(topics)
    assert await _subscriptions(shop) == {
        "ORDERS_CREATE": PREFIX,
        "ORDERS_UPDATED": PREFIX,
        "ORDERS_CANCELLED": PREFIX,
        "FULFILLMENT_ORDERS_HOLD_RELEASED": PREFIX,
        "PRODUCTS_CREATE": PREFIX,
        "PRODUCTS_UPDATE": PREFIX,
    }
    mutations_before = len(_mutations(shop))

    second = await hooks.register(PREFIX, topics, CREDENTIALS, address_prefix=PREFIX)

    assert (second.created, second.updated, second.re_enabled, second.removed) == ((), (), (), ())
    assert len(_mutations(shop)) == mutations_before
    assert sorted(s.topic for s in second.subscriptions) == sorted(topics)
    assert all(s.active and s.address == PREFIX for s in second.subscriptions)
    # Every document the client sent passed the sandbox's validation against the schema.
    assert all(e.status == 200 and "errors" not in e.response_json() for e in shop.graphql_log())


async def test_a_changed_address_is_updated_in_place(shop: Shop, hooks: Webhooks) -> None:
    topics = hooks.topics([WebhookFlow.ORDERS])
    first = await hooks.register(f"{PREFIX}/old", topics, CREDENTIALS, address_prefix=PREFIX)
    ids = {s.topic: s.remote_id for s in first.subscriptions}

    report = await hooks.register(f"{PREFIX}/new", topics, CREDENTIALS, address_prefix=PREFIX)

    assert sorted(report.updated) == sorted(topics) and report.created == ()
    assert {s.topic: s.remote_id for s in report.subscriptions} == ids
    assert set((await _subscriptions(shop)).values()) == {f"{PREFIX}/new"}
    assert set(_mutations(shop)) == {"WebhookSubscriptionCreate", "WebhookSubscriptionUpdate"}


async def test_ours_no_longer_wanted_are_removed_and_others_are_left_alone(
    shop: Shop, hooks: Webhooks
) -> None:
    other_app = "https://other-app.example.com/hooks"
    sibling_channel = f"{PREFIX}-2"  # shares our prefix as a string, not as a path
    for uri in (other_app, sibling_channel):
        status, answer = await shop.graphql(
            "mutation($s: WebhookSubscriptionInput!) { webhookSubscriptionCreate(topic: PRODUCTS_UPDATE, "
            "webhookSubscription: $s) { userErrors { message } } }",
            {"s": {"uri": uri}},
        )
        assert status == 200 and answer["data"]["webhookSubscriptionCreate"]["userErrors"] == []
    await hooks.register(PREFIX, hooks.topics(ALL_FLOWS), CREDENTIALS, address_prefix=PREFIX)

    report = await hooks.register(
        PREFIX, hooks.topics([WebhookFlow.ORDERS]), CREDENTIALS, address_prefix=PREFIX
    )

    assert sorted(report.removed) == ["products/create", "products/update"]
    listing = shop.sandbox.webhooks.listing()
    assert sorted((s["topic"], s["uri"]) for s in listing) == sorted(
        [("PRODUCTS_UPDATE", other_app), ("PRODUCTS_UPDATE", sibling_channel)]
        + [(t, PREFIX) for t in ("ORDERS_CREATE", "ORDERS_UPDATED", "ORDERS_CANCELLED",
           "FULFILLMENT_ORDERS_HOLD_RELEASED")]
    )  # fmt: skip
    assert [s.address for s in await hooks.list_webhooks(PREFIX)] == [PREFIX] * 4


async def test_a_subscription_shopify_deleted_after_failures_is_created_again(
    shop: Shop,
    hooks: Webhooks,
    receiver: Receiver,
) -> None:
    address = receiver.url("/webhooks/acme/shopify-main")
    prefix = receiver.url("/webhooks/acme/")
    await hooks.register(address, ["orders/create"], CREDENTIALS, address_prefix=prefix)
    shop.sandbox.webhooks.deliveries.update_knobs({"disable_after_failures": 2, "retry_delays_s": []})
    receiver.status = 500
    await shop.order([{"sku": "A", "qty": 1}])
    await shop.order([{"sku": "A", "qty": 1}])
    await shop.sandbox.webhooks.deliveries.settle()
    assert await hooks.list_webhooks(prefix) == []

    report = await hooks.register(address, ["orders/create"], CREDENTIALS, address_prefix=prefix)

    assert report.created == ("orders/create",)
    receiver.status = 200
    await shop.order([{"sku": "A", "qty": 1}])
    await shop.sandbox.webhooks.deliveries.settle()
    assert receiver.received[-1].headers["X-Shopify-Topic"] == "orders/create"


# authentication -----------------------------------------------------------------------------------------


async def _genuine(hooks: Webhooks, receiver: Receiver, topics: list[str]) -> Webhooks:
    await hooks.register(receiver.url(), topics, CREDENTIALS, address_prefix=receiver.url())
    return hooks


async def test_genuine_deliveries_are_accepted_with_their_ids(
    shop: Shop, hooks: Webhooks, receiver: Receiver
) -> None:
    await _genuine(hooks, receiver, hooks_topics := ["orders/create", "products/create"])
    order = await shop.order([{"sku": "A", "qty": 1}])
    variant = await shop.product("B")
    await shop.sandbox.webhooks.deliveries.settle()
    assert len(receiver.received) == len(hooks_topics)

    deliveries = [
        hooks.authenticate(r.headers, r.body, CREDENTIALS, path_token=None) for r in receiver.received
    ]

    assert [(d.topic, d.flow, d.resource_id) for d in deliveries] == [
        ("orders/create", WebhookFlow.ORDERS, order["id"]),
        ("products/create", WebhookFlow.PRODUCTS, variant["product_id"]),
    ]
    assert [d.delivery_id for d in deliveries] == [
        r.headers["X-Shopify-Webhook-Id"] for r in receiver.received
    ]
    assert all(d.delivery_id for d in deliveries)


async def test_the_previous_secret_is_accepted_during_a_rotation(
    shop: Shop, hooks: Webhooks, receiver: Receiver
) -> None:
    await _genuine(hooks, receiver, ["orders/create"])
    await shop.order([{"sku": "A", "qty": 1}])
    await shop.sandbox.webhooks.deliveries.settle()
    rotated = WebhookCredentials(secrets=(Secret("shpss_the_new_one"), Secret(TEST_APP_SECRET)))
    got = receiver.received[0]

    assert hooks.authenticate(got.headers, got.body, rotated, path_token=None).topic == "orders/create"
    with pytest.raises(DeliveryRejected) as refused:
        hooks.authenticate(got.headers, got.body, WebhookCredentials(secrets=(Secret("x"),)), path_token=None)
    assert refused.value.reason is RejectReason.BAD_SIGNATURE


async def test_a_forged_delivery_is_refused(shop: Shop, hooks: Webhooks, receiver: Receiver) -> None:
    await _genuine(hooks, receiver, ["orders/create"])
    shop.sandbox.webhooks.deliveries.update_knobs({"wrong_signature_rate": 1.0})
    await shop.order([{"sku": "A", "qty": 1}])
    await shop.sandbox.webhooks.deliveries.settle()
    got = receiver.received[0]

    with pytest.raises(DeliveryRejected) as refused:
        hooks.authenticate(got.headers, got.body, CREDENTIALS, path_token=None)

    assert refused.value.reason is RejectReason.BAD_SIGNATURE


def _signed(body: bytes, **headers: str) -> dict[str, str]:
    digest = hmac.new(TEST_APP_SECRET.encode(), body, hashlib.sha256).digest()
    return {"X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(), **headers}


@pytest.mark.parametrize(
    ("headers", "body", "reason"),
    [
        ({"X-Shopify-Topic": "orders/create"}, b'{"id": 1}', RejectReason.BAD_SIGNATURE),
        (
            _signed(b'{"id": 1}', **{"X-Shopify-Topic": "customers/create"}),
            b'{"id": 1}',
            RejectReason.UNKNOWN_TOPIC,
        ),
        (_signed(b'{"id": 1}'), b'{"id": 1}', RejectReason.MALFORMED),
        (_signed(b"not json", **{"X-Shopify-Topic": "orders/create"}), b"not json", RejectReason.MALFORMED),
        (_signed(b"[1]", **{"X-Shopify-Topic": "orders/create"}), b"[1]", RejectReason.MALFORMED),
        # A body changed after signing (a replay with another order id).
        (
            _signed(b'{"id": 1}', **{"X-Shopify-Topic": "orders/create"}),
            b'{"id": 2}',
            RejectReason.BAD_SIGNATURE,
        ),
    ],
    ids=["unsigned", "unknown-topic", "no-topic", "not-json", "not-an-object", "body-changed"],
)
def test_bad_deliveries_are_refused_with_their_reason(
    headers: dict[str, str], body: bytes, reason: RejectReason
) -> None:
    hooks = Webhooks.__new__(Webhooks)
    with pytest.raises(DeliveryRejected) as refused:
        hooks.authenticate(headers, body, CREDENTIALS, path_token=None)
    assert refused.value.reason is reason


def test_headers_are_matched_case_insensitively_and_ids_come_from_the_body() -> None:
    body = orjson.dumps({"id": 450789469, "name": "#1001"})
    headers: dict[str, Any] = {
        k.lower(): v for k, v in _signed(body, **{"X-Shopify-Topic": "orders/updated"}).items()
    }
    delivery = Webhooks.__new__(Webhooks).authenticate(headers, body, CREDENTIALS, path_token=None)
    assert (delivery.resource_id, delivery.delivery_id) == ("gid://shopify/Order/450789469", None)


@pytest.mark.parametrize(
    ("topic", "new_record", "same_body_same_event"),
    [
        ("orders/create", True, True),
        ("orders/updated", False, True),
        ("fulfillment_orders/hold_released", False, False),  # its body repeats for a second release
    ],
)
def test_a_delivery_says_whether_it_announces_a_new_order_and_whether_its_body_is_unique(
    topic: str, new_record: bool, same_body_same_event: bool
) -> None:
    body = orjson.dumps({"id": 450789469})
    headers = _signed(body, **{"X-Shopify-Topic": topic})
    delivery = Webhooks.__new__(Webhooks).authenticate(headers, body, CREDENTIALS, path_token=None)
    assert (delivery.new_record, delivery.same_body_same_event) == (new_record, same_body_same_event)
