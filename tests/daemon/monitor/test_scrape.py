"""/metrics scraped from the real server after real HTTP traffic and engine observations."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from daemon.clock import FakeClock
from daemon.config import MetricsConfig
from daemon.engine.reports import FlowStatus
from daemon.http import HttpClient, TokenBucket
from daemon.monitor import MetricsObserver, SyncMetrics, attach_http_metrics, start_monitor
from sandboxes.kit import SandboxKit, make_app
from tests.daemon.monitor.conftest import free_port, parse_scrape, total, value


class NoFlows:
    async def flow_statuses(self) -> list[FlowStatus]:
        return []


@pytest.fixture
async def sandbox() -> AsyncIterator[tuple[TestServer, SandboxKit]]:
    app, kit = make_app("shop")

    async def items(request: web.Request) -> web.Response:
        return web.json_response({"items": [1, 2, 3]})

    app.router.add_get("/items", items)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield server, kit
    finally:
        await server.close()


async def scrape(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/metrics") as response:
        return response.status, response.headers["Content-Type"], await response.text()


async def test_api_counters_match_the_sandbox_request_log(sandbox: tuple[TestServer, SandboxKit]) -> None:
    server, kit = sandbox
    kit.faults.update({"rate": 0.35, "statuses": [503, 429], "retry_after_s": 0, "seed": 11})
    clock = FakeClock()
    metrics = SyncMetrics()
    limiter = TokenBucket(rate_per_s=20, burst=2, max_concurrency=4, clock=clock)
    client = HttpClient("shopify", str(server.make_url("/")), limiter=limiter, clock=clock, max_attempts=4)
    attach_http_metrics(client.stats, "shopify", "acme", metrics)
    attach_http_metrics(client.stats, "shopify", "acme", metrics)  # twice: still counted once
    monitor = await start_monitor(
        MetricsConfig(enabled=True, host="127.0.0.1", port=free_port()), NoFlows(), metrics=metrics
    )
    try:
        results = await asyncio.gather(*(client.get_json("items") for _ in range(40)), return_exceptions=True)
        assert monitor.url is not None
        status, content_type, text = await scrape(monitor.url)
    finally:
        await monitor.aclose()
        await client.aclose()

    assert status == 200 and content_type.startswith("text/plain")
    samples = parse_scrape(text)
    log = kit.log.entries()
    by_status = Counter(str(e.status) for e in log)
    assert by_status["503"] > 0 and by_status["429"] > 0  # the seed gives both kinds of fault
    for answer, count in by_status.items():
        got = value(
            samples,
            "ffn_sync_api_calls_total",
            merchant="acme",
            upstream="shopify",
            method="GET",
            status=answer,
        )
        assert got == count, answer
    assert total(samples, "ffn_sync_api_calls_total") == len(log) == client.stats.total_calls

    retries = total(samples, "ffn_sync_api_retries_total", merchant="acme", upstream="shopify")
    assert retries == client.stats.retries > 0
    gave_up = sum(isinstance(r, Exception) for r in results)
    faults = by_status["503"] + by_status["429"]
    assert retries + gave_up == faults  # every injected fault was either retried or ended its request
    assert {lbls for (name, lbls) in samples if name == "ffn_sync_api_retries_total"} <= {
        frozenset({("merchant", "acme"), ("upstream", "shopify"), ("status", s)}) for s in ("503", "429")
    }

    waits = value(samples, "ffn_sync_rate_limit_waits_total", merchant="acme", upstream="shopify")
    assert waits == client.stats.rate_limit_waits > 0
    wait_s = value(samples, "ffn_sync_rate_limit_wait_seconds_total", merchant="acme", upstream="shopify")
    assert wait_s == pytest.approx(client.stats.rate_limit_wait_s)
    assert value(
        samples, "ffn_sync_api_call_duration_seconds_count", merchant="acme", upstream="shopify"
    ) == len(log)


async def test_cycle_observations_appear_per_flow() -> None:
    clock = FakeClock()
    metrics = SyncMetrics()
    observer = MetricsObserver(metrics, clock=clock)
    flow = {"merchant": "acme", "channel": "shopify-main", "flow": "orders"}
    observer.cycle_finished(
        "acme", "shopify-main", "orders", {"pulled": 120, "changed": 7, "pushed": 7}, 0.84, True
    )
    observer.cycle_finished(
        "acme", "shopify-main", "orders", {"pulled": 5, "changed": 2, "pushed": 1, "failed": 1}, 2.0, False
    )
    observer.cursor_lag("acme", "shopify-main", "orders", 12.0)
    for latency in (0.4, 8.0, 45.0, 5000.0):
        observer.order_exported("acme", "shopify-main", latency)
    monitor = await start_monitor(
        MetricsConfig(enabled=True, host="127.0.0.1", port=free_port()), NoFlows(), metrics=metrics
    )
    try:
        assert monitor.url is not None
        _, _, text = await scrape(monitor.url)
    finally:
        await monitor.aclose()
    samples = parse_scrape(text)

    assert value(samples, "ffn_sync_cycles_total", **flow, outcome="ok") == 1
    assert value(samples, "ffn_sync_cycles_total", **flow, outcome="failed") == 1
    assert value(samples, "ffn_sync_cycle_duration_seconds_count", **flow) == 2
    assert value(samples, "ffn_sync_cycle_duration_seconds_sum", **flow) == pytest.approx(2.84)
    assert value(samples, "ffn_sync_records_pulled_total", **flow) == 125
    assert value(samples, "ffn_sync_records_changed_total", **flow) == 9
    assert value(samples, "ffn_sync_records_pushed_total", **flow) == 8
    assert value(samples, "ffn_sync_records_failed_total", **flow) == 1
    assert (("ffn_sync_records_skipped_total", frozenset(flow.items()))) in samples  # present at 0
    # No `_created` twin per counter/histogram child: at a fleet's cardinality they were a fifth of a scrape.
    assert not [name for name, _ in samples if name.endswith("_created")]
    assert value(samples, "ffn_sync_cursor_lag_seconds", **flow) == 12
    # Only the successful cycle moves the last-success time.
    assert value(samples, "ffn_sync_last_success_timestamp_seconds", **flow) == clock.now().timestamp()

    latency = {"merchant": "acme", "channel": "shopify-main"}
    assert value(samples, "ffn_sync_order_export_latency_seconds_count", **latency) == 4
    assert value(samples, "ffn_sync_order_export_latency_seconds_bucket", **latency, le="1.0") == 1
    assert value(samples, "ffn_sync_order_export_latency_seconds_bucket", **latency, le="10.0") == 2
    assert value(samples, "ffn_sync_order_export_latency_seconds_bucket", **latency, le="60.0") == 3
    assert value(samples, "ffn_sync_order_export_latency_seconds_bucket", **latency, le="3600.0") == 3
    assert value(samples, "ffn_sync_order_export_latency_seconds_bucket", **latency, le="+Inf") == 4


async def test_a_scrape_is_rendered_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fleet's /metrics is ~425,000 lines (1,000 merchants; ~0.5 s of CPU): on the loop every job due
    meanwhile would start that much late. Always in one thread (memory, see server)."""
    import threading

    rendered_on: list[threading.Thread] = []
    real = SyncMetrics.render_chunks

    def recording(self: SyncMetrics, size: int = 256 * 1024) -> Iterator[bytes]:
        for chunk in real(self, size):
            rendered_on.append(threading.current_thread())
            yield chunk

    monkeypatch.setattr(SyncMetrics, "render_chunks", recording)
    monitor = await start_monitor(
        MetricsConfig(enabled=True, host="127.0.0.1", port=free_port()), NoFlows(), metrics=SyncMetrics()
    )
    try:
        assert monitor.url is not None
        for _ in range(3):
            status, _, _ = await scrape(monitor.url)
            assert status == 200
    finally:
        await monitor.aclose()
    assert len(rendered_on) >= 3 and threading.main_thread() not in rendered_on
    # Always its own one thread, not asyncio's shared pool (whose threads also resolve host names): every
    # thread that renders keeps a malloc arena the size of a scrape.
    assert len(set(rendered_on)) == 1 and rendered_on[0].name.startswith("metrics-render")


async def test_a_fleet_s_scrape_is_streamed_in_bounded_chunks_and_reads_as_the_whole_text() -> None:
    """The whole text of 1,000 merchants held at once raised RSS ~100 MB at every scrape: it is made and sent
    a chunk at a time, and what Prometheus reads is the same text."""
    metrics = SyncMetrics()
    for m in range(200):
        for channel in ("shopify", "shopware", "woocommerce"):
            for flow in ("orders", "products", "stock"):
                metrics.flows.cycle_finished((f"m{m:04d}", channel, flow), {}, 0.02, True, 1.0e9)
    whole = metrics.render()
    chunks = list(metrics.render_chunks(size=64 * 1024))
    assert b"".join(chunks) == whole
    assert len(chunks) > 10
    # A chunk ends where a piece ended: at most one piece (a histogram's lines) past the size.
    assert max(len(c) for c in chunks[1:]) < 64 * 1024 + 4096
    monitor = await start_monitor(
        MetricsConfig(enabled=True, host="127.0.0.1", port=free_port()), NoFlows(), metrics=metrics
    )
    try:
        assert monitor.url is not None
        async with aiohttp.ClientSession() as session, session.get(f"{monitor.url}/metrics") as response:
            assert response.headers.get("Transfer-Encoding") == "chunked"
            assert await response.read() == whole
    finally:
        await monitor.aclose()
