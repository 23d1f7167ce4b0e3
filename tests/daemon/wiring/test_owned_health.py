"""Health per instance: each instance judges (log, gauges, /healthz) only the merchants it owns, a merchant
it took over is judged from the take-over on, and a merchant nobody owns is reported once.

Two ``Ownership`` instances in this process share one Postgres as in test_balancing; the flow health rows
they judge are the shared ``flow_health`` table.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from loguru import logger

from daemon.app import Daemon
from daemon.cli.status import ownership_tables
from daemon.engine.reports import flow_statuses
from daemon.monitor import HealthWatcher, PostgresHealth, SyncMetrics, health_document
from daemon.runtime import EmptyRuntime, build_empty_runtime
from daemon.store import create_pool
from daemon.store.instances import instance_rows, owner_rows
from daemon.store.lease import MerchantLease
from daemon.store.progress import record_cycle
from daemon.wiring.build import MerchantRuntime
from daemon.wiring.ownership import Ownership
from daemon.wiring.takeovers import TakeOvers
from tests.daemon.store.test_lease import migrated
from tests.daemon.wiring.test_balancing import MERCHANTS, HeldClock, fleet, settle

__all__ = ["fleet"]  # the fixture, used by name

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
INTERVAL_S = 60.0


@pytest.fixture
async def pool(pg_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    await migrated(pg_dsn)
    pool = await create_pool(pg_dsn)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
def lines() -> Iterator[list[tuple[str, str]]]:
    captured: list[tuple[str, str]] = []
    sink = logger.add(lambda m: captured.append((m.record["level"].name, m.record["message"])), level="INFO")
    try:
        yield captured
    finally:
        logger.remove(sink)


async def cycle(pool: asyncpg.Pool, merchant: str, at: datetime, *, ok: bool) -> None:
    await record_cycle(
        pool, merchant, "shop", "orders", interval_s=INTERVAL_S, at=at, ok=ok,
        error=None if ok else "connection refused", counts={}, duration_s=0.1,
    )  # fmt: skip


def stalled_merchants(lines: list[tuple[str, str]]) -> list[str]:
    # "orders shop=<merchant>/shop STALLED: ..."
    return [msg.split("shop=")[1].split("/")[0] for level, msg in lines if "STALLED" in msg]


async def test_two_instances_each_report_only_their_own_merchants(
    pool: asyncpg.Pool, fleet: Callable[..., Ownership], lines: list[tuple[str, str]]
) -> None:
    clock = HeldClock(T0)
    first, second = fleet("own-a", clock=clock), fleet("own-b", clock=clock)
    await settle(first, second)
    for merchant in MERCHANTS:
        await cycle(pool, merchant, T0, ok=True)
    clock.advance(4 * INTERVAL_S)  # every merchant's flow: no success for four intervals
    await settle(first, second, rounds=1)

    watched = []
    for instance in (first, second):
        metrics = SyncMetrics()
        health = PostgresHealth(pool, clock=clock, owned=instance.owned_since)
        watcher = HealthWatcher(health, metrics, clock=clock)
        statuses = await watcher.check()
        healthy, body = health_document(statuses)
        assert not healthy
        assert {s["merchant"] for s in body["stalled"]} == instance.owned  # /healthz: its own only
        gauged = {
            s.labels["merchant"]
            for family in metrics.registry.collect()
            if family.name == "ffn_sync_flow_stalled"
            for s in family.samples
        }
        assert gauged == instance.owned
        watched.append(instance.owned)

    reported = stalled_merchants(lines)
    assert sorted(reported) == MERCHANTS  # each stall once in the fleet, not once per instance
    assert watched[0].isdisjoint(watched[1]) and len(watched[0]) == len(watched[1]) == 5


async def test_a_taken_over_merchant_is_judged_from_the_take_over(
    pool: asyncpg.Pool, fleet: Callable[..., Ownership]
) -> None:
    clock = HeldClock(T0)
    old = fleet("over-a", merchants=["acme", "globex"], clock=clock)
    await old.renew()
    await cycle(pool, "acme", T0, ok=True)  # acme worked with its old owner, then it went quiet
    for minute in range(4):  # globex never worked on the old owner: four failures in a row
        await cycle(pool, "globex", T0 + timedelta(minutes=minute), ok=False)
    lease = old._lease
    assert lease is not None
    lease._conn.terminate()  # kill -9; nobody runs the merchants for ten minutes
    clock.advance(600)

    new = fleet("over-b", merchants=["acme", "globex"], clock=clock)
    for _ in range(50):
        await new.renew()
        if new.owned == {"acme", "globex"}:
            break
        await asyncio.sleep(0.05)
    assert new.owned == {"acme", "globex"}
    health = PostgresHealth(pool, clock=clock, owned=new.owned_since)

    # The shared rows say stalled (ffn-sync status tells the fleet's truth) ...
    assert all(s.stalled for s in await flow_statuses(pool, clock.now()))
    # ... but the new owner has had no chance yet: it gets its own STALL_INTERVALS from the take-over.
    clock.advance(3 * INTERVAL_S - 1)
    assert [s.stalled for s in await health.flow_statuses()] == [False, False]
    assert health_document(await health.flow_statuses())[0]

    await cycle(pool, "globex", clock.now(), ok=False)  # still failing on the new owner, acme silent
    clock.advance(2)
    assert [(s.merchant, s.stalled) for s in await health.flow_statuses()] == [
        ("acme", True),
        ("globex", True),
    ]


async def test_a_reload_keeps_the_take_over_time_a_hand_over_does_not(
    fleet: Callable[..., Ownership],
) -> None:
    clock = HeldClock(T0)
    process = TakeOvers()  # one per process, shared by the runtime of each reload
    before = fleet("reload-a", merchants=["acme"], clock=clock, timeout_s=30, take_overs=process)
    await before.renew()
    clock.advance(10)
    # The same process, reloaded.
    after = fleet("reload-a", merchants=["acme"], clock=clock, timeout_s=30, take_overs=process)
    await after.renew()
    assert after.owned == set()  # the old runtime still holds it
    await before.aclose()
    await after.renew()
    assert after.owned_since() == {"acme": T0}  # not a take-over: no new grace

    clock.advance(10)
    peer = fleet("reload-b", merchants=["acme"], clock=clock, timeout_s=30)
    await settle(peer, after)  # two instances, one merchant: one keeps it
    await after.aclose()  # stopped for good: the peer takes over
    clock.advance(120)
    await peer.renew()
    assert peer.owned_since() == {"acme": T0 + timedelta(seconds=140)}


async def test_the_process_judges_what_its_runtime_owns(fleet: Callable[..., Ownership]) -> None:
    instance = fleet("app-a", merchants=["acme"], clock=HeldClock(T0))
    await instance.renew()
    daemon = Daemon(Path("merchants"), None, factory=build_empty_runtime)  # type: ignore[arg-type]
    daemon._runtime = MerchantRuntime(ownership=instance)
    assert daemon._owned_merchants() == {"acme": T0}  # what /healthz and the watcher judge
    daemon._runtime = MerchantRuntime()
    assert daemon._owned_merchants() is None  # no ownership: every merchant counts
    daemon._runtime = EmptyRuntime()
    assert daemon._owned_merchants() is None


async def test_a_merchant_nobody_owns_is_warned_once_by_the_lowest_instance(
    pg_dsn: str, pool: asyncpg.Pool, fleet: Callable[..., Ownership], lines: list[tuple[str, str]]
) -> None:
    merchants = ["acme", "globex", "initech"]
    # Something that is no instance holds initech's lock (a stuck one-shot run, say): no instance runs it.
    stuck = await MerchantLease.connect(pg_dsn, timeout_s=30)
    try:
        assert await stuck.acquire(["initech"]) == {"initech"}
        clock = HeldClock(T0)
        first = fleet("none-a", merchants=merchants, clock=clock, timeout_s=30)
        second = fleet("none-b", merchants=merchants, clock=clock, timeout_s=30)
        await settle(first, second, rounds=5)  # the first look at renewal 0 saw it unowned
        assert first.owned | second.owned == {"acme", "globex"}

        def warnings() -> list[str]:
            return [msg for level, msg in lines if level == "WARNING" and "no owner" in msg]

        assert warnings() == []  # not yet two lease timeouts
        clock.advance(61)
        await settle(first, second, rounds=10)  # two more looks each
        assert warnings() == [
            "merchant(s) initech have had no owner for over 60s: no instance runs them (all full, or"
            " their configuration differs between instances?); see `ffn-sync status` (OWNERS)"
        ]  # once, by the lowest instance id (host-none-a...), not by every instance at every look

        table = ownership_tables(
            await owner_rows(pool), await instance_rows(pool), clock.now(), [*merchants, "umbrella"]
        )
        owners = table.split("OWNERS")[-1]
        assert "(2 merchant(s) without an owner: nobody syncs them)" in owners
        assert "umbrella  NONE (never taken)" in owners  # configured, no row at all
        assert "initech   NONE (was " in owners  # its row names a holder that is no instance

        await stuck.release()
        await settle(first, second, rounds=6)  # taken, and one more look each
        assert first.owned | second.owned == set(merchants)
        assert ("INFO", "merchant initech has an owner again") in lines
    finally:
        await stuck.close()
