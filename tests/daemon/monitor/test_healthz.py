"""/healthz against flow_health rows in a real Postgres."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg
import orjson
import pytest

from daemon.clock import FakeClock
from daemon.config import MetricsConfig
from daemon.errors import ConfigError
from daemon.jobrunner import JobSpec
from daemon.monitor import MonitorStartError, PostgresHealth, SyncMetrics, scheduled_flows, start_monitor
from daemon.scheduler import SyncScheduler
from tests.daemon.monitor.conftest import free_port, merchant_context, record_cycle

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)


async def healthz(url: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/healthz") as response:
        return response.status, orjson.loads(await response.read())


def config(**kw: Any) -> MetricsConfig:
    return MetricsConfig(**{"enabled": True, "host": "127.0.0.1", "port": free_port(), **kw})


async def test_healthz_is_503_while_a_flow_is_stalled_and_200_after_a_fresh_success(
    pool: asyncpg.Pool,
) -> None:
    clock = FakeClock(T0)
    ctx, _, _ = merchant_context(pool, clock)
    await record_cycle(ctx, "shopify-main", "orders", ok=True)
    await record_cycle(ctx, "ffn", "shipments", ok=True)
    # The watcher keeps real time (it would never fire here); the health rule reads the test's clock.
    monitor = await start_monitor(config(), PostgresHealth(pool, clock=clock), metrics=SyncMetrics())
    try:
        assert monitor.url is not None and monitor.url.startswith("http://127.0.0.1:")
        status, body = await healthz(monitor.url)
        assert (status, body) == (200, {"status": "ok", "flows": 2, "stalled": []})

        # The shop goes down: its cycles keep failing for more than 3 intervals; FFN is fine.
        for _ in range(4):
            clock.advance(60)
            await record_cycle(ctx, "shopify-main", "orders", ok=False)
            await record_cycle(ctx, "ffn", "shipments", ok=True)
        status, body = await healthz(monitor.url)
        assert status == 503
        assert body["status"] == "stalled" and body["flows"] == 2
        (stalled,) = body["stalled"]
        assert (stalled["merchant"], stalled["channel"], stalled["flow"]) == (
            "acme",
            "shopify-main",
            "orders",
        )
        assert stalled["last_success_at"] == T0.isoformat()
        assert stalled["consecutive_failures"] == 4
        assert "connection failed" in stalled["last_error"]

        clock.advance(60)
        await record_cycle(ctx, "shopify-main", "orders", ok=True)
        status, body = await healthz(monitor.url)
        assert (status, body["status"], body["stalled"]) == (200, "ok", [])
    finally:
        await monitor.aclose()


async def test_rows_of_flows_no_longer_scheduled_do_not_count(pool: asyncpg.Pool) -> None:
    clock = FakeClock(T0 - timedelta(days=2))
    ctx, _, _ = merchant_context(pool, clock)
    await record_cycle(ctx, "old-shop", "orders", ok=True)
    clock.advance(2 * 86400)
    await record_cycle(ctx, "ffn", "stock", ok=True)
    everything = PostgresHealth(pool, clock=clock)
    scheduled = PostgresHealth(pool, clock=clock, flows=lambda: {("acme", "ffn", "stock")})
    assert {s.channel: s.stalled for s in await everything.flow_statuses()} == {
        "old-shop": True,
        "ffn": False,
    }
    assert [(s.channel, s.stalled) for s in await scheduled.flow_statuses()] == [("ffn", False)]


async def test_healthz_is_503_when_postgres_cannot_be_read(pool: asyncpg.Pool) -> None:
    metrics = SyncMetrics()
    monitor = await start_monitor(config(), PostgresHealth(pool), metrics=metrics)
    try:
        await pool.close()
        assert monitor.url is not None
        status, body = await healthz(monitor.url)
    finally:
        await monitor.aclose()
    assert status == 503 and body["status"] == "error" and "cannot read flow health" in body["error"]
    assert metrics.registry.get_sample_value("ffn_sync_health_check_errors_total") == 1


async def test_off_switch_opens_no_port_but_keeps_the_stall_watcher(pool: asyncpg.Pool) -> None:
    off = config(enabled=False)
    monitor = await start_monitor(off, PostgresHealth(pool), metrics=SyncMetrics())
    try:
        assert monitor.url is None and monitor.port is None and monitor.runner is None
        assert monitor.watcher._task is not None and not monitor.watcher._task.done()
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.ClientConnectionError):
                await session.get(f"http://127.0.0.1:{off.port}/healthz")
    finally:
        await monitor.aclose()
    assert monitor.watcher._task is None


async def test_only_loopback_addresses_and_a_busy_port_are_refused_clearly(pool: asyncpg.Pool) -> None:
    with pytest.raises(ConfigError, match=r"\[metrics\] host = '0.0.0.0'.*loopback"):
        await start_monitor(config(host="0.0.0.0"), PostgresHealth(pool), metrics=SyncMetrics())
    first = await start_monitor(config(), PostgresHealth(pool), metrics=SyncMetrics())
    try:
        busy = MetricsConfig(enabled=True, host="127.0.0.1", port=first.port)
        with pytest.raises(MonitorStartError, match=rf"127.0.0.1:{first.port}.*\[metrics\] port"):
            await start_monitor(busy, PostgresHealth(pool), metrics=SyncMetrics())
    finally:
        await first.aclose()


async def test_scheduled_flows_spell_keys_as_flow_health_does() -> None:
    async def nothing() -> None:
        return None

    scheduler = SyncScheduler()
    scheduler.start(
        [
            JobSpec("acme", "shopify-main", "orders", 60, nothing),
            JobSpec("acme", "ffn", "shipments", 60, nothing),
            JobSpec("acme", None, "reconcile", 3600, nothing),
        ]
    )
    try:
        assert scheduled_flows(scheduler) == {
            ("acme", "shopify-main", "orders"),
            ("acme", "ffn", "shipments"),
            ("acme", "ffn", "reconcile"),
        }
    finally:
        await scheduler.stop(1.0)
