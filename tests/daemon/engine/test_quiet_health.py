"""Quiet cycles' health rows wait about a second and go to Postgres together (``QuietHealth``): an idle fleet
refreshed ~50 rows a second one statement each. What a reader of ``flow_health`` relies on still holds."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from daemon.engine.cycle import CycleCounts, run_cycle
from daemon.store.progress import QuietHealth, record_cycle
from tests.daemon.engine.conftest import World


async def _quiet(counts: CycleCounts) -> None:
    return None


async def _row(pool: asyncpg.Pool, flow: str) -> asyncpg.Record:
    row = await pool.fetchrow("SELECT * FROM flow_health WHERE merchant_id = 'acme' AND flow = $1", flow)
    assert row is not None
    return row


async def test_quiet_rows_of_many_flows_are_written_in_one_statement(world: World) -> None:
    health = world.ctx.quiet_health = QuietHealth(world.pool)
    flows = ["orders", "stock", "products", "shipments"]
    for flow in flows:
        await run_cycle(world.ctx, "shop", flow, 60.0, _quiet)
    assert await world.pool.fetchval("SELECT count(*) FROM flow_health") == 0  # waiting, not lost
    statements: list[str] = []
    async with world.pool.acquire() as conn:
        conn.add_query_logger(lambda record: statements.append(record.query))
        health.pool = conn  # type: ignore[assignment]  # the flush on this (logged) connection
        await health.flush()
    assert len([s for s in statements if "flow_health" in s]) == 1  # (besides asyncpg's type introspection)
    for flow in flows:
        row = await _row(world.pool, flow)
        assert (row["last_success_at"], row["consecutive_failures"], row["interval_s"]) == (
            world.clock.now(),
            0,
            60.0,
        )


async def test_a_failure_recorded_meanwhile_is_not_overwritten_by_an_older_quiet_row(world: World) -> None:
    health = QuietHealth(world.pool)
    at = world.clock.now()
    await record_cycle(
        world.pool,
        "acme",
        "shop",
        "orders",
        interval_s=60,
        at=at - timedelta(minutes=1),
        ok=True,
        error=None,
        counts={},
        duration_s=0.1,
    )
    health.add(("acme", "shop", "orders", 60.0, at, {}, 0.1), lambda: None)
    failures = await record_cycle(
        world.pool,
        "acme",
        "shop",
        "orders",
        interval_s=60,
        at=at + timedelta(seconds=1),
        ok=False,
        error="shop down",
        counts={},
        duration_s=0.1,
    )
    await health.flush()
    row = await _row(world.pool, "orders")
    assert failures == 1
    assert (row["last_error"], row["consecutive_failures"]) == ("shop down", 1)


async def test_a_lost_flush_makes_the_next_cycle_write_its_row(world: World, pg_dsn: str) -> None:
    pool = await asyncpg.create_pool(pg_dsn, min_size=1, max_size=1)
    world.ctx.quiet_health = health = QuietHealth(pool)
    await run_cycle(world.ctx, "shop", "orders", 60.0, _quiet)
    await pool.close()  # the flush fails: Postgres unreachable
    await health.flush()
    health.pool = world.pool
    world.clock.advance(60)
    await run_cycle(world.ctx, "shop", "orders", 60.0, _quiet)  # within the refresh bound, yet written again
    await health.aclose()
    row = await _row(world.pool, "orders")
    assert row["last_success_at"] == world.clock.now()
