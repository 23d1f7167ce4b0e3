from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from daemon.clock import FakeClock
from daemon.http import HttpClient
from daemon.http.stats import CallRecord, HttpStats
from daemon.monitor import SyncMetrics, attach_http_metrics


class RefreshingAuth:
    def __init__(self) -> None:
        self.refreshed = 0

    async def apply(self, headers: dict[str, str], params: dict[str, str]) -> None:
        headers["Authorization"] = f"Bearer token-{self.refreshed}"

    async def on_unauthorized(self) -> bool:
        self.refreshed += 1
        return True


@pytest.fixture
async def upstream() -> AsyncIterator[TestServer]:
    async def guarded(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != "Bearer token-1":
            return web.json_response({"error": "expired"}, status=401)
        return web.json_response({"ok": True})

    async def gone(request: web.Request) -> web.Response:
        return web.json_response({"error": "down"}, status=502)

    app = web.Application()
    app.router.add_get("/guarded", guarded)
    app.router.add_get("/gone", gone)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


def sample(metrics: SyncMetrics, name: str, **labels: str) -> float:
    got = metrics.registry.get_sample_value(name, labels)
    return 0.0 if got is None else got


async def test_a_credential_refresh_is_a_second_call_but_not_a_retry(upstream: TestServer) -> None:
    metrics = SyncMetrics()
    client = HttpClient("ffn", str(upstream.make_url("/")), auth=RefreshingAuth(), clock=FakeClock())
    attach_http_metrics(client.stats, "ffn", "acme", metrics)
    try:
        assert await client.get_json("guarded") == {"ok": True}
    finally:
        await client.aclose()
    labels = {"merchant": "acme", "upstream": "ffn", "method": "GET"}
    assert sample(metrics, "ffn_sync_api_calls_total", **labels, status="401") == 1
    assert sample(metrics, "ffn_sync_api_calls_total", **labels, status="200") == 1
    assert client.stats.retries == 0
    assert (
        metrics.registry.get_sample_value(
            "ffn_sync_api_retries_total", {"merchant": "acme", "upstream": "ffn", "status": "401"}
        )
        is None
    )


async def test_exhausted_retries_are_counted_by_the_status_that_caused_them(upstream: TestServer) -> None:
    metrics = SyncMetrics()
    client = HttpClient("woo", str(upstream.make_url("/")), clock=FakeClock(), max_attempts=3)
    attach_http_metrics(client.stats, "woo", "acme", metrics)
    try:
        with pytest.raises(Exception, match="502"):
            await client.get_json("gone")
        with pytest.raises(Exception, match="502"):
            await client.get_json("gone")
    finally:
        await client.aclose()
    assert (
        sample(
            metrics, "ffn_sync_api_calls_total", merchant="acme", upstream="woo", method="GET", status="502"
        )
        == 6
    )
    assert sample(metrics, "ffn_sync_api_retries_total", merchant="acme", upstream="woo", status="502") == 4
    assert client.stats.retries == 4


def test_no_answer_is_labelled_none_and_limiter_waits_carry_over() -> None:
    metrics = SyncMetrics()
    stats = HttpStats()
    attach_http_metrics(stats, "shopware", "acme", metrics)
    stats.record_call(CallRecord("shopware", "POST", 0, 0.2, 1))
    assert (
        sample(
            metrics,
            "ffn_sync_api_calls_total",
            merchant="acme",
            upstream="shopware",
            method="POST",
            status="none",
        )
        == 1
    )
    stats.rate_limit_waits, stats.rate_limit_wait_s = 3, 1.5
    stats.record_call(CallRecord("shopware", "GET", 200, 0.1, 1))
    assert sample(metrics, "ffn_sync_rate_limit_waits_total", merchant="acme", upstream="shopware") == 3
    assert (
        sample(metrics, "ffn_sync_rate_limit_wait_seconds_total", merchant="acme", upstream="shopware") == 1.5
    )
