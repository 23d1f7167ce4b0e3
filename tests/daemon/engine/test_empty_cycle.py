"""An empty cycle (nothing new anywhere) costs a handful of statements and writes nothing.

Every flow of a merchant runs once to settle (first windows, first health rows), then again after
one interval with nothing changed; the statements Postgres receives in the second round are counted
through asyncpg's query logger on every pool connection (asyncpg's pool reset included).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import asyncpg
import pytest
from loguru import logger

from daemon.engine.jobs import Intervals, merchant_jobs
from daemon.model import OrderLine
from daemon.runtime import JobSpec
from daemon.store import create_pool, migrate
from daemon.store.progress import QuietHealth
from tests.daemon.engine.conftest import World

POOL_SIZE = 3
WRITES = ("INSERT", "UPDATE", "DELETE")
TICK_S = 5
# The defaults of [channels.intervals] and [ffn.intervals].
PRODUCTION = Intervals(
    channels={"shop": {"orders": 60.0, "products": 300.0, "stock": 900.0}},
    merchant={"shipments": 60.0, "status": 120.0, "stock": 60.0, "reconcile": 3600.0},
)


class Statements:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, record: asyncpg.connection.LoggedQuery) -> None:
        # asyncpg's pool reset is one query of several statements
        self.seen.extend(part.strip() for part in record.query.split(";") if part.strip())


@pytest.fixture
async def counted(world: World, pg_dsn: str) -> AsyncIterator[tuple[World, Statements]]:
    """The world on a pool of fixed size whose every connection logs its statements."""
    statements = Statements()
    await world.pool.close()
    pool = await create_pool(pg_dsn, min_size=POOL_SIZE, max_size=POOL_SIZE)
    world.ctx.pool = world.pool = world.ctx.snapshot.pool = world.ctx.cursors.pool = pool
    world.ctx.quiet_health = quiet = QuietHealth(
        pool
    )  # as the daemon's wiring shares one among its merchants
    held = [await pool.acquire() for _ in range(POOL_SIZE)]
    for conn in held:
        conn.add_query_logger(statements)
    for conn in held:
        await pool.release(conn)
    yield world, statements
    await quiet.aclose()
    await pool.close()


async def _idle(world: World, jobs: list[JobSpec], seconds: int) -> int:
    """Run each job whenever its interval has passed, for ``seconds`` of fake time; returns the cycles run."""
    due = dict.fromkeys(range(len(jobs)), 0.0)
    cycles = 0
    for elapsed in range(0, seconds, TICK_S):
        for index, job in enumerate(jobs):
            if elapsed >= due[index]:
                await job.run()
                cycles += 1
                due[index] = elapsed + job.interval_s
        world.clock.advance(TICK_S)
    return cycles


async def test_an_idle_hour_needs_a_handful_of_statements_per_cycle_and_almost_no_writes(
    counted: tuple[World, Statements],
) -> None:
    world, statements = counted
    jobs = merchant_jobs(world.ctx, PRODUCTION)
    await _idle(world, jobs, 3600)  # first windows, first health rows, the hourly and 6-hourly flows
    statements.seen.clear()
    lines: list[str] = []
    sink = logger.add(lines.append, level="INFO", format="{message}")
    try:
        cycles = await _idle(world, jobs, 3600)
        assert world.ctx.quiet_health is not None
        await world.ctx.quiet_health.flush()
    finally:
        logger.remove(sink)

    per_cycle = len(statements.seen) / cycles
    writes = [s for s in statements.seen if s.split(None, 1)[0].upper() in WRITES]
    print(
        f"{cycles} empty cycles: {len(statements.seen)} statements ({per_cycle:.2f} per cycle), {len(writes)} writes"
    )
    assert lines == []  # no INFO line for an empty cycle, whichever the flow
    # Was 20.6 (asyncpg's reset after every acquire, a cursor and a health write), then 4.1 (a claim was a
    # transaction with a lock even with nothing due), then 2.4 (the cursor read every cycle, a health row
    # every other cycle); now: a due check, the cursor once per
    # Cursors.TRUST_S, the health rows of all quiet cycles in one statement a second (QuietHealth: one
    # merchant in fake time fills few; a fleet ~50 a second), the hourly and 6-hourly flows (1.33 measured).
    assert per_cycle <= 1.5
    # Was 2 per cycle, then 0.62 (a health row every other cycle). What remains: the batched health rows
    # (refreshed every other cycle, so the stall rule of 3 intervals never fires on a quiet flow,
    # tests/daemon/engine/test_quiet.py), a cursor every 10 minutes, the 6-hourly purge.
    assert len(writes) / cycles <= 0.2


SESSION_STATE = """
SELECT (SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory') AS locks,
       (SELECT count(*) FROM pg_cursors) AS cursors,
       (SELECT count(*) FROM pg_listening_channels()) AS listening,
       -- asyncpg's type introspection turns jit off and back to its value: same value, not a change
       (SELECT array_agg(name ORDER BY name) FROM pg_settings
         WHERE source = 'session' AND setting IS DISTINCT FROM reset_val) AS settings,
       (SELECT count(*) FROM pg_prepared_xacts) AS prepared
"""


async def test_the_pool_needs_no_reset_after_the_daemon_s_statements(
    counted: tuple[World, Statements],
) -> None:
    """Connections go back to the pool unreset (daemon.store.db._keep_session): whatever the daemon ran on
    them, busy cycles, empty ones and migrations included, left no session state behind."""
    world, _ = counted
    fresh = await world.pool.fetchrow(SESSION_STATE)
    await migrate(world.pool)
    world.order(1)
    world.order(2, lines=(OrderLine("l1", "SKU-UNKNOWN", "Mug", 1, Decimal("5")),))  # parked
    jobs = merchant_jobs(world.ctx, PRODUCTION)
    await _idle(world, jobs, 600)
    assert len(world.ffn.outbounds) == 1  # a busy round really ran (claims, intents, events)

    held = [await world.pool.acquire() for _ in range(POOL_SIZE)]
    try:
        states = [await conn.fetchrow(SESSION_STATE) for conn in held]
    finally:
        for conn in held:
            await world.pool.release(conn)
    assert all(dict(state) == dict(fresh) for state in states), (fresh, states)
    assert fresh["locks"] == fresh["listening"] == 0 and fresh["settings"] is None


async def test_an_idle_merchant_s_shop_is_compared_only_by_the_safety_run(
    counted: tuple[World, Statements],
) -> None:
    """Nothing changed: the shop's stock job is triggered by no cycle, and its only comparisons are its
    scheduled runs every [channels.intervals] stock (was: a comparison every 60 s)."""
    world, statements = counted
    triggered: list[str] = []
    world.ctx.stock_changes.trigger = lambda channel: triggered.append(channel) is None
    jobs = merchant_jobs(world.ctx, PRODUCTION)
    await _idle(world, jobs, 3600)  # settles: the first look compares every shop
    assert triggered == ["shop"]
    triggered.clear()
    statements.seen.clear()
    cycles = await _idle(world, jobs, 3600)
    comparisons = [s for s in statements.seen if "shop_stock p" in s]
    print(f"{cycles} empty cycles in an idle hour, {len(comparisons)} stock comparisons")
    assert triggered == []
    assert len(comparisons) == 3600 // 900  # the safety runs only
