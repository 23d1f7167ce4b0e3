from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from email.utils import format_datetime

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from daemon.clock import FakeClock
from daemon.errors import RateLimited, RetryableError
from daemon.http import HttpClient, NoLimit, TokenBucket
from tests.daemon.http.conftest import ConcurrentFakeClock, Upstream, json_answer


def make_client(upstream: Upstream, clock: FakeClock, **kw: object) -> HttpClient:
    return HttpClient("shop", upstream.url, clock=clock, rng=random.Random(7), **kw)  # type: ignore[arg-type]


async def test_retry_after_seconds_is_honoured(
    upstream: Upstream, clock: FakeClock, captured_logs: list[str]
) -> None:
    upstream.script("/v1/items", json_answer({}, 429, {"Retry-After": "3"}), json_answer({"ok": True}))
    async with make_client(upstream, clock) as client:
        assert await client.get_json("/v1/items") == {"ok": True}
        assert clock.slept == [3.0]
        assert client.stats.retries == 1
        assert client.stats.calls[("GET", 429)] == 1
        assert client.stats.calls[("GET", 200)] == 1
    warnings = [line for line in captured_logs if line.startswith("WARNING")]
    assert warnings == ["WARNING retry upstream=shop GET /v1/items status=429 attempt=2/5 wait=3.0s"]


async def test_retry_after_http_date_is_honoured(upstream: Upstream, clock: FakeClock) -> None:
    when = format_datetime(clock.now() + timedelta(seconds=7), usegmt=True)
    upstream.script("/slow", json_answer({}, 503, {"Retry-After": when}), json_answer([]))
    async with make_client(upstream, clock) as client:
        assert await client.get_json("/slow") == []
    assert clock.slept == [7.0]


async def test_pause_after_429_holds_concurrent_callers() -> None:
    clock = ConcurrentFakeClock()
    limiter = TokenBucket(rate_per_s=100, burst=100, max_concurrency=10, clock=clock)
    throttled = asyncio.Event()
    app_upstream = Upstream(clock=clock)
    app_upstream.script("/a", json_answer({}, 429, {"Retry-After": "2"}), json_answer("a"))
    app_upstream.script("/b", json_answer("b"))
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", app_upstream.handle)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    client = HttpClient("shop", str(server.make_url("/")), limiter=limiter, clock=clock)
    client.stats.on_call.append(lambda record: throttled.set() if record.status == 429 else None)

    async def second_caller() -> object:
        await throttled.wait()
        return await client.get_json("/b")

    try:
        first = asyncio.create_task(client.get_json("/a"), name="first")
        second = asyncio.create_task(second_caller(), name="second")
        assert list(await asyncio.gather(first, second)) == ["a", "b"]
    finally:
        await client.aclose()
        await server.close()

    throttled_at = app_upstream.requests_to("/a")[0].at
    (b_request,) = app_upstream.requests_to("/b")
    assert b_request.at >= throttled_at + 2.0
    assert any(name == "second" and seconds == pytest.approx(2.0) for name, seconds in clock.sleeps_by_task)
    assert client.stats.rate_limit_waits >= 1


async def test_503_is_retried_then_surfaced(
    upstream: Upstream, clock: FakeClock, captured_logs: list[str]
) -> None:
    upstream.script("/v1/merchant/outbounds", web.Response(status=503, text="busy"))
    async with make_client(upstream, clock, max_attempts=3, backoff_base_s=1.0) as client:
        with pytest.raises(RetryableError) as caught:
            await client.get_json("/v1/merchant/outbounds")
    assert caught.value.status == 503
    assert caught.value.upstream == "shop"
    assert len(upstream.requests_to("/v1/merchant/outbounds")) == 3
    # exponential with jitter: half fixed, half random, doubling per attempt
    assert len(clock.slept) == 2
    assert 0.5 <= clock.slept[0] <= 1.0
    assert 1.0 <= clock.slept[1] <= 2.0
    warnings = [line for line in captured_logs if line.startswith("WARNING")]
    assert len(warnings) == 2
    assert warnings[0].startswith(
        "WARNING retry upstream=shop GET /v1/merchant/outbounds status=503 attempt=2/3"
    )


async def test_post_is_not_retried_unless_marked_idempotent(upstream: Upstream, clock: FakeClock) -> None:
    upstream.script("/orders", web.Response(status=503), json_answer({"id": 1}, 201))
    async with make_client(upstream, clock) as client:
        with pytest.raises(RetryableError):
            await client.request("POST", "/orders", json={"a": 1})
        assert len(upstream.requests_to("/orders")) == 1

        upstream.script("/orders", web.Response(status=503), json_answer({"id": 1}, 201))
        response = await client.request("POST", "/orders", json={"a": 1}, idempotent=True)
    assert response.status == 201
    assert response.json() == {"id": 1}
    assert len(upstream.requests_to("/orders")) == 3
    assert upstream.requests_to("/orders")[-1].body == b'{"a":1}'


async def test_put_is_retried_by_default(upstream: Upstream, clock: FakeClock) -> None:
    upstream.script("/stock", web.Response(status=502), web.Response(status=204))
    async with make_client(upstream, clock) as client:
        assert (await client.request("PUT", "/stock", json=[])).status == 204
    assert len(upstream.requests_to("/stock")) == 2


async def test_timeout_becomes_retryable_error(upstream: Upstream, clock: FakeClock) -> None:
    async def hang(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.3)
        return web.Response(text="late")

    upstream.script("/hang", hang)
    async with make_client(upstream, clock, timeout_s=0.05, max_attempts=2) as client:
        with pytest.raises(RetryableError) as caught:
            await client.get_json("/hang")
    assert "no answer within 0.05s: GET /hang" in str(caught.value)
    assert len(upstream.requests_to("/hang")) == 2
    assert client.stats.calls[("GET", 0)] == 2


async def test_connection_error_becomes_retryable_error(clock: FakeClock) -> None:
    # A port nobody listens on: bind, note the port, close.
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    async with HttpClient("shop", f"http://127.0.0.1:{port}", clock=clock, max_attempts=2) as client:
        with pytest.raises(RetryableError) as caught:
            await client.get_json("/x")
    assert "connection failed: GET /x" in str(caught.value)
    assert len(clock.slept) == 1


async def test_long_retry_after_is_not_slept_through(upstream: Upstream, clock: FakeClock) -> None:
    upstream.script("/busy", json_answer({}, 429, {"Retry-After": "3600"}))
    limiter = NoLimit(clock)
    async with make_client(upstream, clock, limiter=limiter, max_retry_after_s=60) as client:
        with pytest.raises(RateLimited) as caught:
            await client.get_json("/busy")
        assert caught.value.retry_after == 3600
        assert clock.slept == []
        # the pause still holds the next caller
        upstream.script("/other", json_answer(1))
        assert await client.get_json("/other") == 1
    assert clock.slept == [3600.0]


async def test_429_without_retry_after_pauses_everyone_for_the_backoff(
    upstream: Upstream, clock: FakeClock
) -> None:
    upstream.script("/t", json_answer({}, 429), json_answer("ok"))
    limiter = NoLimit(clock)
    async with make_client(upstream, clock, limiter=limiter, backoff_base_s=4.0) as client:
        assert await client.get_json("/t") == "ok"
    (waited,) = clock.slept
    assert 2.0 <= waited <= 4.0
    clock.advance(-waited)  # as if another caller asked right after the 429
    await limiter.acquire()
    assert clock.slept[-1] == pytest.approx(waited)
