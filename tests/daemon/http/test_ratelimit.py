from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from daemon.clock import FakeClock
from daemon.http import HttpClient, NoLimit, RateLimiter, TokenBucket
from tests.daemon.http.conftest import ConcurrentFakeClock, Upstream


async def test_token_bucket_spends_the_burst_then_paces() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_s=2, burst=3, max_concurrency=10, clock=clock)
    for _ in range(6):
        await bucket.acquire()
        bucket.release()
    assert clock.slept == [0.5, 0.5, 0.5]


async def test_token_bucket_refills_while_idle_up_to_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_s=1, burst=2, max_concurrency=1, clock=clock)
    for _ in range(2):
        await bucket.acquire()
        bucket.release()
    clock.advance(60)  # long idle: only `burst` tokens come back
    for _ in range(3):
        await bucket.acquire()
        bucket.release()
    assert clock.slept == [1.0]


async def test_token_bucket_cost_is_charged() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_s=10, burst=10, max_concurrency=1, clock=clock)
    await bucket.acquire(cost=10)
    bucket.release()
    await bucket.acquire(cost=5)
    bucket.release()
    assert clock.slept == [0.5]


async def test_concurrent_callers_queue_for_tokens() -> None:
    clock = ConcurrentFakeClock()
    bucket = TokenBucket(rate_per_s=4, burst=1, max_concurrency=10, clock=clock)

    async def one() -> None:
        await bucket.acquire()
        bucket.release()

    await asyncio.gather(*(one() for _ in range(4)))
    # each reserves its token in arrival order: waits of 0, 1/4, 2/4, 3/4 s
    assert sorted(clock.slept) == [0.25, 0.5, 0.75]


async def test_pause_holds_every_caller() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_s=100, burst=100, max_concurrency=2, clock=clock)
    bucket.pause(5)
    bucket.pause(1)  # a shorter pause does not cut the longer one short
    await bucket.acquire()
    bucket.release()
    assert clock.slept == [5.0]
    await bucket.acquire()
    bucket.release()
    assert clock.slept == [5.0]

    unlimited = NoLimit(clock)
    unlimited.pause(2)
    await unlimited.acquire()
    assert clock.slept == [5.0, 2.0]


async def test_concurrency_cap() -> None:
    bucket = TokenBucket(rate_per_s=1000, burst=1000, max_concurrency=2, clock=FakeClock())
    gate = asyncio.Event()
    peak = 0

    async def one() -> None:
        nonlocal peak
        await bucket.acquire()
        try:
            peak = max(peak, bucket.in_flight)
            await gate.wait()
        finally:
            bucket.release()

    tasks = [asyncio.create_task(one()) for _ in range(5)]
    for _ in range(10):
        await asyncio.sleep(0)
    assert bucket.in_flight == 2
    gate.set()
    await asyncio.gather(*tasks)
    assert peak == 2
    assert bucket.in_flight == 0


async def test_cancelled_waiter_gives_its_slot_back() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_s=1, burst=1, max_concurrency=1, clock=clock)
    bucket.pause(10)
    blocked = asyncio.Event()
    original_sleep = clock.sleep

    async def never_ending(seconds: float) -> None:
        blocked.set()
        await asyncio.Event().wait()

    clock.sleep = never_ending  # type: ignore[method-assign]
    waiter = asyncio.create_task(bucket.acquire())
    await blocked.wait()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert bucket.in_flight == 0
    clock.sleep = original_sleep  # type: ignore[method-assign]


async def test_client_respects_the_concurrency_cap(upstream: Upstream, clock: FakeClock) -> None:
    active = 0
    peak = 0
    pair_reached = asyncio.Event()

    async def slow(request: web.Request) -> web.StreamResponse:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        if active >= 2:
            pair_reached.set()
        # hold the slot until a second request is in flight too (a broken cap would let more in)
        await asyncio.wait_for(pair_reached.wait(), 1.0)
        await asyncio.sleep(0.005)
        active -= 1
        return web.json_response(True)

    upstream.script("/item", slow)
    limiter = TokenBucket(rate_per_s=1000, burst=1000, max_concurrency=2, clock=clock)
    async with HttpClient("shop", upstream.url, limiter=limiter, clock=clock) as client:
        results = await asyncio.gather(*(client.get_json("/item") for _ in range(6)))
    assert results == [True] * 6
    assert peak == 2


async def test_client_paces_through_the_bucket(upstream: Upstream, clock: FakeClock) -> None:
    upstream.script("/item", web.json_response(1))
    limiter = TokenBucket(rate_per_s=2, burst=1, max_concurrency=1, clock=clock)
    async with HttpClient("ffn", upstream.url, limiter=limiter, clock=clock) as client:
        for _ in range(3):
            await client.get_json("/item")
        assert clock.slept == [0.5, 0.5]
        assert client.stats.rate_limit_waits == 2
        assert client.stats.rate_limit_wait_s == pytest.approx(1.0)


def test_limiters_satisfy_the_protocol() -> None:
    assert isinstance(TokenBucket(1, 1, 1), RateLimiter)
    assert isinstance(NoLimit(), RateLimiter)


@pytest.mark.parametrize(("rate", "burst", "cap"), [(0, 1, 1), (1, 0, 1), (1, 1, 0)])
def test_token_bucket_rejects_nonsense(rate: float, burst: float, cap: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        TokenBucket(rate, burst, cap)


async def test_request_cost_is_taken_from_the_budget(upstream: Upstream, clock: FakeClock) -> None:
    upstream.script("/graphql", web.json_response({"data": {}}))
    limiter = TokenBucket(rate_per_s=50, burst=100, max_concurrency=1, clock=clock)
    async with HttpClient("shopify", upstream.url, limiter=limiter, clock=clock) as client:
        await client.request("POST", "/graphql", json={"query": "{ shop { id } }"}, cost=100)
        await client.request("POST", "/graphql", json={"query": "{ shop { id } }"}, cost=25)
    assert clock.slept == [0.5]
