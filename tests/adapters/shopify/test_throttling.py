"""Cost-based pacing: the client waits before Shopify would throttle, and waits again when it does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from adapters.shopify.throttle import CostBucket
from daemon.clock import FakeClock
from daemon.http import Response
from daemon.model import Window
from sandboxes.shopify import SANDBOX_KEY, create_app
from sandboxes.shopify.control import Control
from tests.adapters.shopify.conftest import START, Shop


async def small_shop(maximum: float, restore_rate: float) -> Shop:
    clock = FakeClock(START)
    app = create_app(clock=clock, maximum_available=maximum, restore_rate=restore_rate)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return Shop(server, app[SANDBOX_KEY], clock, aiohttp.ClientSession())


@pytest.fixture
async def tight() -> AsyncIterator[Shop]:
    shop = await small_shop(300, 10)
    yield shop
    await shop.session.close()
    await shop.server.close()


def seed_orders(shop: Shop, count: int, lines: int = 2) -> None:
    control = Control(shop.sandbox.world, shop.sandbox.bucket)
    for sku in ("A1", "B2", "C3"):
        shop.sandbox.world.upsert_product(sku=sku, name=sku, price=Decimal("5"))
    for _ in range(count):
        shop.clock.advance(1)
        body: dict[str, Any] = {"lines": [{"sku": ("A1", "B2", "C3")[j % 3], "qty": 1} for j in range(lines)],
                                "paid": True, "shipping_method": "DHL", "address": {"country_code": "DE"}}  # fmt: skip
        control.post_order(None, body)  # type: ignore[arg-type]


async def test_a_small_bucket_makes_the_client_wait_not_fail(tight: Shop) -> None:
    seed_orders(tight, 30)
    channel = tight.channel()
    try:
        pulled = [o async for o in channel.changed_orders(Window(START, START + timedelta(hours=1)))]
    finally:
        await channel.aclose()
    assert len(pulled) == 30
    # Only the very first page, sent before any answer told the bucket's size, may be refused.
    assert tight.sandbox.bucket.stats.throttled <= 1
    assert sum(tight.clock.slept) > 0  # it paced itself
    costs = [e.response_json()["extensions"]["cost"]["requestedQueryCost"] for e in tight.graphql_log()]
    assert max(costs[1:]) <= 0.4 * 300  # pages sized to the bucket it learned


async def test_throttled_answer_is_waited_out_and_retried(shop: Shop) -> None:
    seed_orders(shop, 20)
    channel = shop.channel(page_size=5)
    pulled = []
    try:
        async for order in channel.changed_orders(Window(START, START + timedelta(hours=1))):
            pulled.append(order)
            if len(pulled) == 5:  # another app of the same shop empties the bucket
                bucket = shop.sandbox.bucket
                assert bucket.try_reserve(int(bucket.available()))
    finally:
        await channel.aclose()
    assert len(pulled) == 20
    assert channel.transport.throttled == 1
    assert shop.sandbox.bucket.stats.throttled == 1
    answers = [e.response_json() for e in shop.graphql_log()]
    throttled = [a for a in answers if a.get("errors")]
    assert throttled[0]["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert throttled[0]["extensions"]["cost"]["actualQueryCost"] is None


def _response(available: float, maximum: float = 1000, rate: float = 50) -> Response:
    body = (
        '{"data":{},"extensions":{"cost":{"requestedQueryCost":10,"actualQueryCost":5,"throttleStatus":'
        f'{{"maximumAvailable":{maximum},"currentlyAvailable":{available},"restoreRate":{rate}}}}}}}}}'
    )
    return Response(status=200, headers={}, body=body.encode(), url="http://x")


async def test_cost_bucket_waits_for_the_restore_it_needs() -> None:
    clock = FakeClock(START)
    bucket = CostBucket(clock=clock)
    await bucket.acquire(500)  # unknown bucket: passes at once
    bucket.release()
    bucket.observe(_response(100))
    assert clock.slept == []
    await bucket.acquire(400)  # 300 short at 50/s
    assert clock.slept == [pytest.approx(6.0, abs=0.01)]
    bucket.release()
    bucket.observe(_response(0))
    await bucket.acquire(5000)  # never more than the whole bucket
    assert clock.slept[-1] == pytest.approx(20.0, abs=0.01)
    bucket.release()


async def test_cost_bucket_counts_requests_in_flight() -> None:
    clock = FakeClock(START)
    bucket = CostBucket(clock=clock, max_concurrency=4)
    bucket.observe(_response(1000))
    await bucket.acquire(600)
    await bucket.acquire(400)  # fits: 1000 - 600
    assert clock.slept == []
    third = asyncio.create_task(bucket.acquire(100))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not third.done()  # the two in flight hold the whole bucket
    bucket.release()  # one answer arrives
    bucket.observe(_response(400))
    await asyncio.wait_for(third, 1)


async def test_triggered_reads_are_paced_by_what_they_spend_once_the_bucket_is_below_half(
    tight: Shop,
) -> None:
    seed_orders(tight, 4, lines=1)
    channel = tight.channel()
    window = Window(START, START + timedelta(hours=1))
    try:
        [o async for o in channel.changed_orders(window)]  # the bucket (300) still holds more than half
        assert channel.read_gap_s() == 0.0
        before = tight.sandbox.bucket.stats.actual_total
        [o async for o in channel.changed_orders(window)]
        spent = tight.sandbox.bucket.stats.actual_total - before
        assert tight.sandbox.bucket.available() < 150
        # What was spent since the last look, restored at half the 10 points/s restore rate.
        assert channel.read_gap_s() == pytest.approx(spent / 5)
    finally:
        await channel.aclose()
