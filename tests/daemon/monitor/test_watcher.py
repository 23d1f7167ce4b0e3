"""The stall watcher: one ERROR when a flow stalls, one INFO when it recovers, gauges in step."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg

from daemon.clock import FakeClock
from daemon.engine.reports import FlowStatus
from daemon.monitor import HealthWatcher, MetricsObserver, PostgresHealth, SyncMetrics
from tests.daemon.monitor.conftest import merchant_context, record_cycle

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
ORDERS = {"merchant": "acme", "channel": "shopify-main", "flow": "orders"}


def gauge(metrics: SyncMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


async def test_one_error_when_a_flow_stalls_and_one_info_when_it_recovers(
    pool: asyncpg.Pool, logs: list[tuple[str, str, dict[str, object]]]
) -> None:
    clock = FakeClock(T0)
    ctx, _, _ = merchant_context(pool, clock)
    await record_cycle(ctx, "shopify-main", "orders", ok=True)
    metrics = SyncMetrics()
    watcher = HealthWatcher(PostgresHealth(pool, clock=clock), metrics, clock=clock)

    await watcher.check()
    assert gauge(metrics, "ffn_sync_flow_stalled", **ORDERS) == 0
    for _ in range(4):  # down for four intervals, the watcher looking every time
        clock.advance(60)
        await record_cycle(ctx, "shopify-main", "orders", ok=False)
        await watcher.check()
    assert gauge(metrics, "ffn_sync_flow_stalled", **ORDERS) == 1
    assert gauge(metrics, "ffn_sync_consecutive_failures", **ORDERS) == 4
    assert gauge(metrics, "ffn_sync_last_success_timestamp_seconds", **ORDERS) == T0.timestamp()

    clock.advance(60)
    await record_cycle(ctx, "shopify-main", "orders", ok=True)
    await watcher.check()
    await watcher.check()
    assert gauge(metrics, "ffn_sync_flow_stalled", **ORDERS) == 0

    watcher_lines = [
        (level, msg, extra) for level, msg, extra in logs if "STALLED" in msg or "recovered" in msg
    ]
    assert [level for level, _, _ in watcher_lines] == ["ERROR", "INFO"]
    (_, stall, extra), (_, recovery, _) = watcher_lines
    assert stall.startswith(
        "orders shop=acme/shopify-main STALLED: no successful cycle since 2026-05-04 10:00:00Z"
    )
    assert "4 failure(s) in a row" in stall
    assert "last error: connection failed: GET /admin/api/2026-10/orders.json" in stall
    assert "`ffn-sync status`" in stall and "grep acme/shopify-main/orders" in stall
    assert (extra["merchant"], extra["channel"], extra["flow"]) == ("acme", "shopify-main", "orders")
    assert recovery == (
        "orders shop=acme/shopify-main recovered: successful cycle at 2026-05-04 10:05:00Z,"
        " reported stalled for 1m00s"
    )


async def test_gauges_follow_the_queue_and_forget_flows_that_are_gone(pool: asyncpg.Pool) -> None:
    clock = FakeClock(T0)
    metrics = SyncMetrics()
    ctx, _, _ = merchant_context(pool, clock, MetricsObserver(metrics, clock=clock))
    await record_cycle(ctx, "shopify-main", "orders", ok=True)
    await pool.execute(
        "INSERT INTO snapshot (merchant_id, channel, entity, external_id, payload, pulled_hash, state)"
        " SELECT 'acme', 'shopify-main', 'order', n::text, '{}', 'h', CASE WHEN n <= 3 THEN 'failed'"
        " ELSE 'pending' END FROM generate_series(1, 10) AS n"
    )
    await pool.execute(
        "INSERT INTO cursors (merchant_id, channel, flow, position) VALUES ('acme', 'shopify-main', 'orders', $1)",
        T0,
    )
    clock.advance(42)
    scheduled = {("acme", "shopify-main", "orders")}
    watcher = HealthWatcher(PostgresHealth(pool, clock=clock, flows=lambda: scheduled), metrics, clock=clock)
    await watcher.check()
    assert gauge(metrics, "ffn_sync_pending_records", **ORDERS) == 7
    assert gauge(metrics, "ffn_sync_dead_letters", **ORDERS) == 3
    assert gauge(metrics, "ffn_sync_cursor_lag_seconds", **ORDERS) == 42
    assert gauge(metrics, "ffn_sync_cycles_total", **ORDERS, outcome="ok") == 1

    scheduled.clear()  # the channel was removed from the config
    await watcher.check()
    assert gauge(metrics, "ffn_sync_pending_records", **ORDERS) is None
    assert gauge(metrics, "ffn_sync_flow_stalled", **ORDERS) is None
    # The flow's cycle series go too (they stayed until a restart before the metrics became tables).
    assert gauge(metrics, "ffn_sync_cycles_total", **ORDERS, outcome="ok") is None
    assert gauge(metrics, "ffn_sync_cycle_duration_seconds_count", **ORDERS) is None
    assert "acme" not in metrics.render().decode()


class FailingHealth:
    def __init__(self) -> None:
        self.failing = True

    async def flow_statuses(self) -> list[FlowStatus]:
        if self.failing:
            raise OSError("connection refused")
        return []


async def test_an_unreadable_database_is_one_warning_per_outage(
    logs: list[tuple[str, str, dict[str, object]]],
) -> None:
    health = FailingHealth()
    metrics = SyncMetrics()
    watcher = HealthWatcher(health, metrics)
    for _ in range(3):
        assert await watcher.check() == []
    health.failing = False
    await watcher.check()
    levels = [(level, msg.split(":")[0]) for level, msg, _ in logs]
    assert levels == [
        ("WARNING", "health check could not read flow health from Postgres"),
        ("INFO", "health check reads Postgres again"),
    ]
    assert metrics.registry.get_sample_value("ffn_sync_health_check_errors_total") == 3


class StepClock(FakeClock):
    """Sleeps block until the test lets one period pass."""

    def __init__(self) -> None:
        super().__init__(T0)
        self.ticks: asyncio.Queue[None] = asyncio.Queue()

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        await self.ticks.get()
        self.advance(seconds)


class CountingHealth:
    def __init__(self) -> None:
        self.calls = 0
        self.looked = asyncio.Event()

    async def flow_statuses(self) -> list[FlowStatus]:
        self.calls += 1
        self.looked.set()
        return []


async def test_the_loop_looks_once_per_period_starting_after_the_first() -> None:
    clock, health = StepClock(), CountingHealth()
    watcher = HealthWatcher(health, SyncMetrics(), clock=clock)
    watcher.start()
    await asyncio.sleep(0)
    assert health.calls == 0 and clock.slept == [30.0]
    for expected in (1, 2):
        health.looked.clear()
        clock.ticks.put_nowait(None)
        await asyncio.wait_for(health.looked.wait(), 5)
        assert health.calls == expected
    await watcher.aclose()
    assert watcher._task is None
