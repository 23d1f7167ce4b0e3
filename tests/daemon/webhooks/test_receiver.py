"""The receiver: authentication through the adapter, each refusal as a 4xx + WARNING + metric and never a
trigger, duplicates triggering once, and a burst coalesced by the scheduler."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from daemon.clock import FakeClock
from daemon.config.webhooks import WebhooksConfig
from daemon.jobrunner import JobSpec
from daemon.monitor.metrics import SyncMetrics
from daemon.scheduler import SyncScheduler
from daemon.webhooks.endpoint import Endpoint, RecentDeliveries
from daemon.webhooks.receiver import WebhookReceiver, source_address
from daemon.webhooks.types import Delivery, WebhookCredentials, WebhookFlow
from tests.daemon.webhooks.fake import OLD_SECRET, SECRET, TOKEN, FakeWebhooks, headers

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
BODY = b'{"id": 820982911946154508}'


class Harness:
    def __init__(self, trigger: Any = None, **config: Any) -> None:
        self.clock = FakeClock(T0)
        self.metrics = SyncMetrics()
        self.triggered: list[str] = []
        self.nudged: list[tuple[str, str]] = []
        self.support = FakeWebhooks()
        settings = {"max_body_bytes": 2048, "duplicate_window_s": 60.0, **config}
        self.receiver = WebhookReceiver(
            WebhooksConfig(**settings),
            trigger=trigger or self._trigger,
            metrics=self.metrics,
            clock=self.clock,
        )
        self.receiver.serve(
            [
                self.endpoint("shop", WebhookCredentials(secrets=(SECRET, OLD_SECRET))),
                self.endpoint("sw", WebhookCredentials(token=TOKEN)),
            ]
        )

    def _trigger(self, name: str) -> bool:
        self.triggered.append(name)
        return True

    def endpoint(self, channel: str, credentials: WebhookCredentials) -> Endpoint:
        def nudge(delivery: Delivery) -> str:
            self.nudged.append((channel, delivery.flow.value))
            return f"acme/{channel}/{delivery.flow.value}"

        return Endpoint(
            "acme", channel, "fake", self.support, credentials, frozenset({WebhookFlow.ORDERS}), nudge
        )

    def sample(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0


@pytest.fixture
async def hooks() -> AsyncIterator[tuple[Harness, TestClient[Any, Any]]]:
    harness = Harness()
    async with TestClient(TestServer(harness.receiver.make_app())) as client:
        yield harness, client


async def test_a_signed_delivery_is_answered_and_nudges_the_orders_flow(hooks: Any) -> None:
    harness, client = hooks
    response = await client.post("/webhooks/acme/shop", data=BODY, headers=headers(BODY, SECRET.reveal()))
    assert response.status == 200
    assert harness.triggered == ["acme/shop/orders"]
    assert harness.nudged == [("shop", "orders")]
    assert (
        harness.sample(
            "ffn_sync_webhook_deliveries_total", merchant="acme", channel="shop", topic="orders/create"
        )
        == 1
    )
    assert (
        harness.sample("ffn_sync_webhook_last_delivery_timestamp_seconds", merchant="acme", channel="shop")
        == T0.timestamp()
    )


async def test_the_previous_secret_is_accepted_during_a_rotation(hooks: Any) -> None:
    harness, client = hooks
    response = await client.post("/webhooks/acme/shop", data=BODY, headers=headers(BODY, OLD_SECRET.reveal()))
    assert response.status == 200
    assert harness.triggered == ["acme/shop/orders"]


@pytest.mark.parametrize(
    ("path", "make_headers", "status", "reason"),
    [
        ("/webhooks/acme/shop", lambda: headers(BODY, "forged-secret"), 401, "bad_signature"),
        ("/webhooks/acme/shop", lambda: {}, 401, "bad_signature"),
        (
            "/webhooks/acme/shop",
            lambda: headers(BODY, SECRET.reveal(), topic="shop/redact"),
            400,
            "unknown_topic",
        ),
        ("/webhooks/acme/sw", lambda: {"X-Test-Topic": "orders/create"}, 401, "bad_signature"),
        ("/webhooks/acme/sw/wrong-token", lambda: {"X-Test-Topic": "orders/create"}, 401, "bad_signature"),
    ],
)
async def test_refusals_answer_4xx_log_the_source_count_and_trigger_nothing(
    hooks: Any, records: list[Any], path: str, make_headers: Any, status: int, reason: str
) -> None:
    harness, client = hooks
    response = await client.post(path, data=BODY, headers=make_headers())
    assert response.status == status
    assert harness.triggered == [] and harness.nudged == []
    channel = path.split("/")[3]
    assert (
        harness.sample("ffn_sync_webhook_rejects_total", merchant="acme", channel=channel, reason=reason) == 1
    )
    (warning,) = [r for r in records if r["level"].name == "WARNING"]
    assert "from 127.0.0.1" in warning["message"] and reason in warning["message"]


async def test_unknown_merchant_or_channel_is_404_without_asking_the_adapter(
    hooks: Any, records: list[Any]
) -> None:
    harness, client = hooks
    for path in ("/webhooks/acme/nope", "/webhooks/evil/shop", "/webhooks/acme/nope/token"):
        response = await client.post(path, data=BODY, headers=headers(BODY, SECRET.reveal()))
        assert response.status == 404
    assert harness.support.authenticated == 0 and harness.triggered == []
    assert (
        harness.sample("ffn_sync_webhook_rejects_total", merchant="-", channel="-", reason="unknown_channel")
        == 3
    )
    # One source, one reason: the first is a WARNING, the others wait for the minute's summary.
    assert sum(r["level"].name == "WARNING" for r in records) == 1


async def test_oversized_bodies_are_413_whether_declared_or_streamed(hooks: Any) -> None:
    harness, client = hooks
    big = b"x" * 4096
    response = await client.post("/webhooks/acme/shop", data=big, headers=headers(big, SECRET.reveal()))
    assert response.status == 413

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b"y" * 1024

    streamed = await client.post("/webhooks/acme/shop", data=chunks(), headers=headers(big, SECRET.reveal()))
    assert streamed.status == 413
    assert harness.support.authenticated == 0 and harness.triggered == []
    assert (
        harness.sample("ffn_sync_webhook_rejects_total", merchant="acme", channel="shop", reason="too_large")
        == 2
    )


async def test_a_replayed_delivery_triggers_once_within_the_window(hooks: Any) -> None:
    harness, client = hooks
    signed = headers(BODY, SECRET.reveal(), delivery_id="d-42")
    for _ in range(3):
        assert (await client.post("/webhooks/acme/shop", data=BODY, headers=signed)).status == 200
    assert harness.triggered == ["acme/shop/orders"]
    assert harness.sample("ffn_sync_webhook_duplicates_total", merchant="acme", channel="shop") == 2
    harness.clock.advance(61)
    assert (await client.post("/webhooks/acme/shop", data=BODY, headers=signed)).status == 200
    assert harness.triggered == ["acme/shop/orders"] * 2


async def test_a_replay_under_a_fresh_delivery_id_triggers_nothing(hooks: Any) -> None:
    harness, client = hooks
    # The id header is not signed: a captured delivery replayed with new ids is still the same delivery.
    for n in range(3):
        replay = headers(BODY, SECRET.reveal(), delivery_id=f"forged-{n}")
        assert (await client.post("/webhooks/acme/shop", data=BODY, headers=replay)).status == 200
    assert harness.triggered == ["acme/shop/orders"]
    other = BODY[:-1] + b', "n": 2}'  # a new delivery, new body and new id: it triggers
    fresh = headers(other, SECRET.reveal(), delivery_id="d-43")
    assert (await client.post("/webhooks/acme/shop", data=other, headers=fresh)).status == 200
    assert harness.triggered == ["acme/shop/orders"] * 2


async def test_a_second_hold_release_with_the_same_body_triggers_and_its_retry_does_not(hooks: Any) -> None:
    harness, client = hooks
    body = b'{"fulfillment_order": {"id": "gid://shopify/FulfillmentOrder/1", "status": "open"}}'
    topic = "fulfillment_orders/hold_released"
    for delivery_id in ("d-1", "d-1", "d-2"):  # released, Shopify's retry of it, released again later
        signed = headers(body, SECRET.reveal(), topic=topic, delivery_id=delivery_id)
        assert (await client.post("/webhooks/acme/shop", data=body, headers=signed)).status == 200
        harness.clock.advance(10)  # all within the 60 s duplicate window
    assert harness.triggered == ["acme/shop/orders"] * 2


async def test_a_wrong_token_in_the_address_is_refused_before_the_body_is_read(hooks: Any) -> None:
    harness, client = hooks
    oversized = b"x" * 4096  # over the harness's 2048-byte limit: reading it would answer 413
    for path in ("/webhooks/acme/sw/WRONG-TOKEN", "/webhooks/acme/sw"):
        response = await client.post(path, data=oversized, headers={"X-Test-Topic": "orders/create"})
        assert response.status == 401, path
    assert harness.support.authenticated == 0 and harness.triggered == []
    assert (
        harness.sample(
            "ffn_sync_webhook_rejects_total", merchant="acme", channel="sw", reason="bad_signature"
        )
        == 2
    )


async def test_shopware_token_in_the_path_is_accepted_and_never_logged(
    hooks: Any, records: list[Any]
) -> None:
    harness, client = hooks
    response = await client.post(
        f"/webhooks/acme/sw/{TOKEN.reveal()}", data=BODY, headers={"X-Test-Topic": "orders/create"}
    )
    assert response.status == 200
    assert harness.triggered == ["acme/sw/orders"]
    assert not any(TOKEN.reveal() in str(r["message"]) for r in records)


async def test_a_flow_the_channel_does_not_run_is_answered_without_a_trigger(hooks: Any) -> None:
    harness, client = hooks
    signed = headers(BODY, SECRET.reveal(), topic="products/update")
    assert (await client.post("/webhooks/acme/shop", data=BODY, headers=signed)).status == 200
    assert harness.triggered == [] and harness.nudged == []


async def test_a_vendor_test_call_is_answered_without_a_trigger_or_health(hooks: Any) -> None:
    harness, client = hooks
    assert (
        await client.post("/webhooks/acme/shop", data=b"webhook_id=7", headers={"X-Test-Ping": "1"})
    ).status == 200
    assert harness.triggered == []
    assert (
        harness.sample("ffn_sync_webhook_last_delivery_timestamp_seconds", merchant="acme", channel="shop")
        == 0
    )


def test_forwarded_for_counts_only_behind_a_trusted_proxy() -> None:
    import ipaddress

    trusted = (ipaddress.ip_network("10.0.0.0/8"),)
    assert source_address("203.0.113.9", "198.51.100.1", trusted) == "203.0.113.9"
    assert source_address("10.0.0.2", "198.51.100.1", trusted) == "198.51.100.1"
    # The client may prepend anything; the nearest untrusted hop is what the proxy saw.
    assert source_address("10.0.0.2", "1.1.1.1, 198.51.100.1, 10.0.0.3", trusted) == "198.51.100.1"
    assert source_address(None, None, trusted) == "unknown"


def test_remembered_delivery_ids_are_bounded_and_expire() -> None:
    clock = FakeClock(T0)
    recent = RecentDeliveries(60.0, limit=3, clock=clock)
    assert not any(recent.seen_before(i) for i in ("a", "b", "c", "d"))
    assert len(recent) == 3
    assert not recent.seen_before("a")  # pushed out by "d"
    assert recent.seen_before("d")
    clock.advance(61)
    assert not recent.seen_before("d") and len(recent) == 1


async def test_a_burst_of_500_deliveries_runs_the_flow_a_handful_of_times() -> None:
    runs = 0
    active = peak = 0

    async def flow() -> None:
        nonlocal runs, active, peak
        runs += 1
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.01)  # a cycle takes time: deliveries keep arriving meanwhile
        active -= 1

    scheduler = SyncScheduler()
    scheduler.start([JobSpec("acme", "shop", "orders", 3600.0, flow)])
    triggers = 0

    def trigger(name: str) -> bool:
        nonlocal triggers
        triggers += 1
        return scheduler.trigger(name)

    harness = Harness(trigger=trigger)
    try:
        async with TestClient(TestServer(harness.receiver.make_app())) as client:

            async def deliver(n: int) -> int:
                # 500 different orders: none is a repeat, so it is the scheduler that must coalesce them.
                body = b'{"id": %d}' % (820982911946154508 + n)
                signed = headers(body, SECRET.reveal(), delivery_id=f"d-{n}")
                return (await client.post("/webhooks/acme/shop", data=body, headers=signed)).status

            statuses = await asyncio.gather(*(deliver(n) for n in range(500)))
            async with asyncio.timeout(5):
                while scheduler.runners["acme/shop/orders"].busy:  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
    finally:
        await scheduler.stop(grace_s=1)
    assert set(statuses) == {200}
    assert triggers == 500
    assert 1 <= runs <= 10 and peak == 1, runs


def warnings(records: list[Any]) -> list[str]:
    return [r["message"] for r in records if r["level"].name == "WARNING"]


async def test_a_flood_of_forgeries_is_one_warning_then_one_summary_a_minute_and_counted_in_full(
    hooks: Any, records: list[Any]
) -> None:
    harness, client = hooks
    forged = {"X-Test-Hmac": "forged", "X-Test-Topic": "orders/create"}
    for _ in range(50):
        assert (await client.post("/webhooks/acme/shop", data=BODY, headers=forged)).status == 401
    (first,) = warnings(records)
    assert "from 127.0.0.1 refused (bad_signature)" in first
    harness.clock.advance(30)
    for _ in range(50):
        await client.post("/webhooks/acme/shop", data=BODY, headers=forged)
    assert len(warnings(records)) == 1  # not a minute yet
    harness.clock.advance(30)
    harness.receiver.rejects.flush()  # the service's periodic loop: the flood's summary without a new reject
    summary = warnings(records)[-1]
    assert summary.startswith("webhook refusals (bad_signature): 99 more in the last 60s from 1 address(es)")
    harness.receiver.rejects.flush()
    assert len(warnings(records)) == 2
    assert (
        harness.sample(
            "ffn_sync_webhook_rejects_total", merchant="acme", channel="shop", reason="bad_signature"
        )
        == 100
    )
    # Another reason from the same source is news: its own first WARNING.
    await client.post(
        "/webhooks/acme/shop", data=BODY, headers={**headers(BODY, SECRET.reveal()), "X-Test-Topic": "x"}
    )
    assert "refused (unknown_topic)" in warnings(records)[-1]


def test_a_sender_rotating_its_address_gets_a_bounded_number_of_first_warnings(records: list[Any]) -> None:
    from daemon.webhooks.rejects import RejectLog
    from daemon.webhooks.types import RejectReason

    clock = FakeClock(T0)
    log = RejectLog(clock, max_first=10)
    for n in range(1000):
        log.refused("acme/shop", f"2001:db8::{n:x}", RejectReason.BAD_SIGNATURE, "X-Test-Hmac does not match")
    assert len(warnings(records)) == 10
    clock.advance(60)
    log.flush()
    assert "990 more in the last 60s from 990 address(es)" in warnings(records)[-1]
    # The minute is over: a new address gets its first WARNING again; a known one stays summarised.
    log.refused("acme/shop", "2001:db8::new", RejectReason.BAD_SIGNATURE, "no header")
    log.refused("acme/shop", "2001:db8::1", RejectReason.BAD_SIGNATURE, "no header")
    assert "from 2001:db8::new refused" in warnings(records)[-1] and len(warnings(records)) == 12


async def test_the_trigger_line_names_the_shops_id_of_the_order(hooks: Any, records: list[Any]) -> None:
    _, client = hooks
    sent = {**headers(BODY, SECRET.reveal()), "X-Test-Resource": "gid://shopify/Order/42"}
    assert (await client.post("/webhooks/acme/shop", data=BODY, headers=sent)).status == 200
    (line,) = [r["message"] for r in records if r["message"].startswith("webhook orders/create")]
    assert (
        line
        == "webhook orders/create for acme/shop (shop id gid://shopify/Order/42): acme/shop/orders runs now"
    )
