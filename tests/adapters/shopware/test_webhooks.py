"""Shopware webhooks: registration through the Admin API (all traffic checked against the OpenAPI file of
6.6 and 6.7 by the ``channel`` fixture) and authentication of the sandbox's genuine deliveries."""

from __future__ import annotations

import secrets

import orjson
import pytest

from adapters.shopware import ShopwareChannel
from adapters.shopware.webhooks import Webhooks
from daemon.secrets import Secret
from daemon.webhooks.types import DeliveryRejected, RejectReason, WebhookCredentials, WebhookFlow
from sandboxes.kit.webhooks import Deliveries
from tests.adapters.shopware.conftest import Sandbox
from tests.sandboxes.webhook_receiver import Receiver

TOKEN = secrets.token_urlsafe(16)  # 128 bits
CREDENTIALS = WebhookCredentials(token=Secret(TOKEN))
ALL_FLOWS = (WebhookFlow.ORDERS, WebhookFlow.PRODUCTS)


def outbox(sandbox: Sandbox) -> Deliveries:
    assert sandbox.shop.deliveries is not None
    return sandbox.shop.deliveries


def _rows(sandbox: Sandbox) -> list[tuple[str, str, bool]]:
    return sorted((r["eventName"], r["url"], r["active"]) for r in sandbox.shop.store.rows("webhook"))


def _writes(sandbox: Sandbox) -> int:
    return len([e for e in sandbox.vendor_traffic() if e.is_write and not e.path.startswith("/api/search/")])


def _prefix(receiver: Receiver) -> str:
    return receiver.url("/webhooks/acme/shopware")


async def test_registration_creates_every_event_then_changes_nothing(
    sandbox: Sandbox, channel: ShopwareChannel, receiver: Receiver
) -> None:
    hooks = Webhooks(channel)
    topics = hooks.topics(ALL_FLOWS)
    prefix = _prefix(receiver)
    address = f"{prefix}/{TOKEN}"

    first = await hooks.register(address, topics, CREDENTIALS, address_prefix=prefix)

    assert sorted(first.created) == sorted(topics)
    assert _rows(sandbox) == sorted((t, address, True) for t in topics)
    assert all(r["onlyLiveVersion"] and TOKEN not in r["name"] for r in sandbox.shop.store.rows("webhook"))
    writes = _writes(sandbox)

    second = await hooks.register(address, topics, CREDENTIALS, address_prefix=prefix)

    assert (second.created, second.updated, second.re_enabled, second.removed) == ((), (), (), ())
    assert _writes(sandbox) == writes


async def test_a_new_token_moves_every_webhook_in_place(sandbox: Sandbox, channel: ShopwareChannel) -> None:
    hooks = Webhooks(channel)
    prefix = "https://hooks.example.com/webhooks/acme/shopware"
    first = await hooks.register(
        f"{prefix}/old-token", ["checkout.order.placed"], CREDENTIALS, address_prefix=prefix
    )

    moved = await hooks.register(
        f"{prefix}/{TOKEN}", ["checkout.order.placed"], CREDENTIALS, address_prefix=prefix
    )

    assert moved.updated == ("checkout.order.placed",) and moved.created == ()
    assert [s.remote_id for s in moved.subscriptions] == [s.remote_id for s in first.subscriptions]
    assert _rows(sandbox) == [("checkout.order.placed", f"{prefix}/{TOKEN}", True)]


async def test_a_webhook_the_shop_deactivated_after_failures_is_re_enabled(
    sandbox: Sandbox, channel: ShopwareChannel, receiver: Receiver
) -> None:
    hooks = Webhooks(channel)
    prefix = _prefix(receiver)
    address = f"{prefix}/{TOKEN}"
    await hooks.register(address, ["checkout.order.placed"], CREDENTIALS, address_prefix=prefix)
    await sandbox.product("A")
    outbox(sandbox).update_knobs({"disable_after_failures": 1, "retry_delays_s": []})
    receiver.status = 503
    await sandbox.order(("A", 1))
    await outbox(sandbox).settle()
    assert [s.active for s in await hooks.list_webhooks(prefix)] == [False]

    report = await hooks.register(address, ["checkout.order.placed"], CREDENTIALS, address_prefix=prefix)

    assert report.re_enabled == ("checkout.order.placed",) and report.updated == ()
    assert _rows(sandbox) == [("checkout.order.placed", address, True)]


async def test_ours_no_longer_wanted_are_removed_and_others_are_left_alone(
    sandbox: Sandbox, channel: ShopwareChannel
) -> None:
    prefix = "https://hooks.example.com/webhooks/acme/shopware"
    others = ["https://erp.example.com/hook", f"{prefix}-outlet/abc"]
    for index, url in enumerate(others):
        await channel.api.create(
            "webhook",
            {"id": f"{index + 1:032x}", "name": f"other {index}", "eventName": "product.written", "url": url},
        )
    hooks = Webhooks(channel)
    await hooks.register(f"{prefix}/{TOKEN}", hooks.topics(ALL_FLOWS), CREDENTIALS, address_prefix=prefix)

    report = await hooks.register(
        f"{prefix}/{TOKEN}", hooks.topics([WebhookFlow.ORDERS]), CREDENTIALS, address_prefix=prefix
    )

    assert report.removed == ("product.written",)
    assert _rows(sandbox) == sorted(
        [(t, f"{prefix}/{TOKEN}", True) for t in hooks.topics([WebhookFlow.ORDERS])]
        + [("product.written", url, True) for url in others]
    )


# authentication -----------------------------------------------------------------------------------------


async def test_genuine_deliveries_are_accepted_with_their_ids(
    sandbox: Sandbox, channel: ShopwareChannel, receiver: Receiver
) -> None:
    hooks = Webhooks(channel)
    prefix = _prefix(receiver)
    await hooks.register(f"{prefix}/{TOKEN}", hooks.topics(ALL_FLOWS), CREDENTIALS, address_prefix=prefix)
    product = await sandbox.product("A")
    order = await sandbox.order(("A", 1), paid=False)
    await sandbox.control("PATCH", f"orders/{order['id']}", {"paid": True})
    await sandbox.control("POST", f"orders/{order['id']}/cancel")
    await outbox(sandbox).settle()

    results = [
        hooks.authenticate(r.headers, r.body, CREDENTIALS, path_token=r.path.rsplit("/", 1)[1])
        for r in receiver.received
    ]

    assert [(d.topic, d.flow, d.resource_id) for d in results] == [
        ("product.written", WebhookFlow.PRODUCTS, product["id"]),
        ("checkout.order.placed", WebhookFlow.ORDERS, order["id"]),
        ("state_enter.order_transaction.state.paid", WebhookFlow.ORDERS, order["id"]),
        ("state_enter.order.state.cancelled", WebhookFlow.ORDERS, order["id"]),
    ]
    assert [d.delivery_id for d in results] == [
        orjson.loads(r.body)["source"]["eventId"] for r in receiver.received
    ]


BODY = orjson.dumps({"data": {"payload": {"order": {"id": "ab" * 16}}, "event": "checkout.order.placed"}})


@pytest.mark.parametrize(
    ("token", "body", "reason"),
    [
        (None, BODY, RejectReason.BAD_SIGNATURE),
        (("y" if TOKEN[0] == "x" else "x") + TOKEN[1:], BODY, RejectReason.BAD_SIGNATURE),
        (
            TOKEN,
            orjson.dumps({"data": {"payload": [], "event": "customer.written"}}),
            RejectReason.UNKNOWN_TOPIC,
        ),
        (TOKEN, b"{", RejectReason.MALFORMED),
        (TOKEN, b'{"data": []}', RejectReason.MALFORMED),
        (TOKEN, b'{"data": {"payload": {}}}', RejectReason.MALFORMED),
    ],
    ids=["no-token", "wrong-token", "unknown-event", "not-json", "no-data", "no-event"],
)
def test_bad_deliveries_are_refused_with_their_reason(
    token: str | None, body: bytes, reason: RejectReason
) -> None:
    with pytest.raises(DeliveryRejected) as refused:
        Webhooks.__new__(Webhooks).authenticate({}, body, CREDENTIALS, path_token=token)
    assert refused.value.reason is reason


def test_without_a_configured_token_nothing_is_accepted() -> None:
    with pytest.raises(DeliveryRejected) as refused:
        Webhooks.__new__(Webhooks).authenticate({}, BODY, WebhookCredentials(), path_token=TOKEN)
    assert refused.value.reason is RejectReason.BAD_SIGNATURE


def test_during_a_rotation_the_new_and_the_previous_token_are_accepted_and_no_other() -> None:
    new = secrets.token_urlsafe(32)
    rotating = WebhookCredentials(token=Secret(new), previous_token=Secret(TOKEN))
    hooks = Webhooks.__new__(Webhooks)
    for token in (new, TOKEN):
        assert hooks.authenticate({}, BODY, rotating, path_token=token).topic == "checkout.order.placed"
    with pytest.raises(DeliveryRejected):
        hooks.authenticate({}, BODY, rotating, path_token=secrets.token_urlsafe(32))
    with pytest.raises(DeliveryRejected):  # rotated: the old token is refused
        hooks.authenticate({}, BODY, WebhookCredentials(token=Secret(new)), path_token=TOKEN)
