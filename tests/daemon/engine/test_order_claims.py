"""Claims: one row per shop order in flight, whatever the flow, batch or process; short claims
extended while the work runs, given back on a stop, freed by the next lease holder once their
instance's own fence stops it (no connection left, or no lease connection and no renewal for a lease
timeout), and never cleared by a late outcome of an earlier claimer."""

from __future__ import annotations

import asyncio
from collections import Counter

import asyncpg
import pytest

from daemon.clock import FakeClock
from daemon.engine import push
from daemon.engine.cycle import CycleCounts
from daemon.store import MerchantLease
from daemon.store.snapshot import ENTITY_FSTATUS, ENTITY_SHIPMENT, Claimed, Pulled, Snapshot
from tests.daemon.engine.conftest import World

DEAD_TOKEN = "deadbeef0000"  # an instance with no connection left


async def queue(world: World, entity: str, rows: list[tuple[str, str]]) -> None:
    """(external id, order id) rows for the shop channel, due now."""
    pulled = [
        Pulled(ext, {"order_id": order, "number": f"#{order}"}, ext, f"#{order}") for ext, order in rows
    ]
    async with world.pool.acquire() as conn:
        await world.ctx.snapshot.upsert(conn, "shop", entity, pulled, now=world.clock.now())


async def claim(world: World, entity: str, snapshot: Snapshot | None = None) -> list[Claimed]:
    return await (snapshot or world.ctx.snapshot).claim(["shop"], entity, now=world.clock.now(), limit=100)


async def test_one_row_per_order_in_flight_across_flows(world: World) -> None:
    await queue(world, ENTITY_SHIPMENT, [("S1", "1"), ("S2", "1"), ("S3", "2")])
    await queue(world, ENTITY_FSTATUS, [("O1:Canceled", "1"), ("O3:Canceled", "3")])

    shipments = await claim(world, ENTITY_SHIPMENT)
    assert sorted(c.external_id for c in shipments) == ["S1", "S3"]
    # Order 1 has a shipment in flight: its status waits, order 3's does not.
    assert [c.external_id for c in await claim(world, ENTITY_FSTATUS)] == ["O3:Canceled"]
    assert await claim(world, ENTITY_SHIPMENT) == []

    await world.ctx.snapshot.done(next(c for c in shipments if c.external_id == "S1"), now=world.clock.now())
    assert [c.external_id for c in await claim(world, ENTITY_SHIPMENT)] == ["S2"]


async def test_concurrent_claimers_never_take_two_rows_of_one_order(world: World) -> None:
    await queue(world, ENTITY_SHIPMENT, [(f"S{n}-{k}", str(n)) for n in range(20) for k in range(3)])
    other_process = Snapshot(world.pool, "acme")
    batches = await asyncio.gather(
        *(claim(world, ENTITY_SHIPMENT, other_process if i % 2 else None) for i in range(8))
    )
    per_order = Counter(c.payload["order_id"] for batch in batches for c in batch)
    assert per_order == Counter({str(n): 1 for n in range(20)})


async def test_a_new_lease_holder_frees_claims_left_by_a_killed_one(world: World, pg_dsn: str) -> None:
    await queue(world, ENTITY_SHIPMENT, [("S1", "1"), ("S2", "2")])
    assert len(await claim(world, ENTITY_SHIPMENT)) == 2
    await world.pool.execute("UPDATE snapshot SET claimed_by = $1", f"dead-host:1:{DEAD_TOKEN}")  # it died
    assert await claim(world, ENTITY_SHIPMENT) == []
    lease = await MerchantLease.connect(pg_dsn)
    try:
        assert await lease.acquire(["acme"]) == {"acme"}
    finally:
        await lease.close()
    assert len(await claim(world, ENTITY_SHIPMENT)) == 2  # at once, not after the claim lease


async def test_on_a_database_before_0009_a_killed_holder_s_claims_are_still_freed(
    world: World, pg_dsn: str
) -> None:
    await queue(world, ENTITY_SHIPMENT, [("S1", "1")])
    assert len(await claim(world, ENTITY_SHIPMENT)) == 1
    await world.pool.execute("UPDATE snapshot SET claimed_by = $1", f"dead-host:1:{DEAD_TOKEN}")
    await world.pool.execute("DROP TABLE instances, merchant_owners")  # no instance registry yet
    lease = await MerchantLease.connect(pg_dsn)
    try:
        assert await lease.acquire(["acme"]) == {"acme"}
    finally:
        await lease.close()
    assert len(await claim(world, ENTITY_SHIPMENT)) == 1


async def test_a_new_lease_of_this_process_leaves_its_running_work_claimed(world: World, pg_dsn: str) -> None:
    await queue(world, ENTITY_SHIPMENT, [("S1", "1")])
    await queue(world, ENTITY_FSTATUS, [("O1:Shipped", "1")])
    in_flight, release = asyncio.Event(), asyncio.Event()

    async def slow(item: Claimed) -> str:
        in_flight.set()
        await release.wait()
        await world.ctx.snapshot.done(item, now=world.clock.now())
        return "pushed"

    task = asyncio.create_task(
        push.drain(world.ctx, channels=["shop"], entity=ENTITY_SHIPMENT, handler=slow, counts=CycleCounts())
    )
    await in_flight.wait()
    # The lease connection dropped; Ownership opens a new one while this process's work still runs.
    lease = await MerchantLease.connect(pg_dsn)
    try:
        assert await lease.acquire(["acme"]) == {"acme"}
        assert await claim(world, ENTITY_FSTATUS) == []  # S1 of order 1 is still in flight
    finally:
        release.set()
        await task
        await lease.close()
    assert [c.external_id for c in await claim(world, ENTITY_FSTATUS)] == ["O1:Shipped"]


async def test_a_new_lease_holder_leaves_the_claims_of_an_instance_still_connected(
    world: World, pg_dsn: str
) -> None:
    await queue(world, ENTITY_SHIPMENT, [("S1", "1")])
    assert len(await claim(world, ENTITY_SHIPMENT)) == 1
    token = "0123456789ab"  # an instance cut off from its lease whose pool still works on S1
    await world.pool.execute("UPDATE snapshot SET claimed_by = $1", f"other-host:7:{token}")
    still_running = await asyncpg.connect(pg_dsn, server_settings={"application_name": f"ffn-sync {token}"})
    lease = await MerchantLease.connect(pg_dsn)
    try:
        assert await lease.acquire(["acme"]) == {"acme"}
        assert await claim(world, ENTITY_SHIPMENT) == []  # its claim runs out on its own
    finally:
        await lease.close()
        await still_running.close()


async def register(
    pool: asyncpg.Pool, token: str, *, renewed_s_ago: float, lease_timeout_s: float = 5.0
) -> str:
    """An ``instances`` row as ``ffn-sync run`` renews it; returns the instance id its claims carry."""
    instance_id = f"other-host:7:{token}"
    await pool.execute(
        "INSERT INTO instances (instance_id, token, host, pid, version, schema_version, lease_timeout_s,"
        " heartbeat_at) VALUES ($1, $2, 'other-host', 7, 'test', 9, $3, now() - make_interval(secs => $4))",
        instance_id, token, lease_timeout_s, renewed_s_ago,
    )  # fmt: skip
    return instance_id


async def test_a_new_lease_holder_takes_the_claims_of_a_frozen_instance_at_once(
    world: World, pg_dsn: str
) -> None:
    await queue(world, ENTITY_SHIPMENT, [("S1", "1"), ("S2", "2")])
    assert len(await claim(world, ENTITY_SHIPMENT)) == 2
    token = (
        "f0f0f0f0f0f0"  # SIGSTOP: its pool connections stay open, Postgres ended its idle lease connection
    )
    frozen = await register(world.pool, token, renewed_s_ago=6.0)  # its lease timeout is 5 s
    await world.pool.execute("UPDATE snapshot SET claimed_by = $1", frozen)
    its_pool = await asyncpg.connect(pg_dsn, server_settings={"application_name": f"ffn-sync {token}"})
    lease = await MerchantLease.connect(pg_dsn)
    try:
        assert await claim(world, ENTITY_SHIPMENT) == []  # claimed for 60 s more
        assert await lease.acquire(["acme"]) == {"acme"}
        # Its fence stops it before its next request: the claims only kept the orders from running.
        taken = await claim(world, ENTITY_SHIPMENT)
        assert sorted(c.external_id for c in taken) == ["S1", "S2"]  # at once, not in 60 s
    finally:
        await lease.close()
        await its_pool.close()


async def test_claims_of_an_instance_whose_lease_may_still_be_valid_wait_for_the_recheck(
    world: World, pg_dsn: str
) -> None:
    await queue(world, ENTITY_SHIPMENT, [("S1", "1")])
    assert len(await claim(world, ENTITY_SHIPMENT)) == 1
    token = "c0c0c0c0c0c0"  # its lease connection just dropped; renewed 1 s ago, so valid 2.75 s more
    cut_off = await register(world.pool, token, renewed_s_ago=1.0, lease_timeout_s=5.0)
    await world.pool.execute("UPDATE snapshot SET claimed_by = $1", cut_off)
    its_pool = await asyncpg.connect(pg_dsn, server_settings={"application_name": f"ffn-sync {token}"})
    clock = FakeClock()
    lease = await MerchantLease.connect(pg_dsn, timeout_s=5.0, clock=clock)
    try:
        assert await lease.acquire(["acme"]) == {"acme"}
        assert await claim(world, ENTITY_SHIPMENT) == []  # it may still be sending: its claim stands
        assert await lease.recheck_void_claims() == 0
        # A lease timeout after its last renewal its own fence has stopped it for a quarter timeout.
        await world.pool.execute("UPDATE instances SET heartbeat_at = now() - interval '5 seconds'")
        clock.advance(5.0)
        assert await lease.recheck_void_claims() == 1
        assert [c.external_id for c in await claim(world, ENTITY_SHIPMENT)] == ["S1"]
        clock.advance(6.0)  # two lease timeouts after the take-over the renewals stop looking
        await world.pool.execute("UPDATE snapshot SET claimed_by = $1", cut_off)
        assert await lease.recheck_void_claims() == 0
    finally:
        await lease.close()
        await its_pool.close()


async def test_a_late_outcome_leaves_the_claim_of_the_instance_that_took_the_row_over(world: World) -> None:
    await queue(world, ENTITY_SHIPMENT, [("S1", "1")])
    await queue(world, ENTITY_FSTATUS, [("O1:Shipped", "1")])
    [mine] = await claim(world, ENTITY_SHIPMENT)
    # Our claim ran out while we were cut off; another instance claimed S1 and works on it.
    await world.pool.execute("UPDATE snapshot SET claimed_by = 'other-host:7:0123456789ab'")
    await world.ctx.snapshot.retry_later(mine, world.clock.now(), "finished late")
    row = await world.pool.fetchrow("SELECT claimed_by, last_error FROM snapshot WHERE external_id = 'S1'")
    assert (row["claimed_by"], row["last_error"]) == ("other-host:7:0123456789ab", None)
    assert await claim(world, ENTITY_FSTATUS) == []  # S1 is still in flight elsewhere


async def test_a_cancelled_drain_gives_its_claims_back_without_counting_an_attempt(world: World) -> None:
    await queue(world, ENTITY_SHIPMENT, [("S1", "1"), ("S2", "2")])
    started = asyncio.Event()

    async def hang(item: Claimed) -> str:
        started.set()
        await asyncio.Event().wait()
        return "pushed"

    task = asyncio.create_task(
        push.drain(world.ctx, channels=["shop"], entity=ENTITY_SHIPMENT, handler=hang, counts=CycleCounts())
    )
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    rows = await world.pool.fetch("SELECT claimed_until, attempts FROM snapshot ORDER BY external_id")
    assert [(r["claimed_until"], r["attempts"]) for r in rows] == [(None, 0), (None, 0)]
    assert len(await claim(world, ENTITY_SHIPMENT)) == 2


async def test_claims_are_extended_while_the_work_runs(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(push, "CLAIM_LEASE_S", 0.3)
    await queue(world, ENTITY_SHIPMENT, [("S1", "1"), ("S2", "1")])
    seen: list[list[Claimed]] = []

    async def slow(item: Claimed) -> str:
        for _ in range(3):  # far longer than the lease, in the clock's terms
            world.clock.advance(60)
            await asyncio.sleep(0.25)
            seen.append(await claim(world, ENTITY_SHIPMENT))
        await world.ctx.snapshot.done(item, now=world.clock.now())
        return "pushed"

    counts = CycleCounts()
    await push.drain(
        world.ctx, channels=["shop"], entity=ENTITY_SHIPMENT, handler=slow, counts=counts, max_rounds=1
    )
    assert seen == [[], [], []]  # the other row of the order never started while the first ran
    assert counts.pushed == 1


async def test_due_now_wakes_waiting_rows_for_free_and_never_touches_a_claim(world: World) -> None:
    await queue(world, ENTITY_SHIPMENT, [("S1", "1"), ("S2", "2")])
    in_flight, backing_off = sorted(await claim(world, ENTITY_SHIPMENT), key=lambda c: c.external_id)
    later = world.clock.now().replace(year=world.clock.now().year + 1)
    await world.pool.execute(
        "UPDATE snapshot SET claimed_by = NULL, claimed_until = NULL, attempts = 7, next_attempt_at = $2"
        " WHERE external_id = $1",
        backing_off.external_id,
        later,
    )
    before = await world.pool.fetchrow(
        "SELECT claimed_by, claimed_until FROM snapshot WHERE external_id = 'S1'"
    )

    assert await world.ctx.snapshot.due_now(now=world.clock.now()) == 1

    woken = await world.pool.fetchrow(
        "SELECT attempts, next_attempt_at FROM snapshot WHERE external_id = 'S2'"
    )
    # Due at once, and the woken try does not count: reloads never push a failing record into dead letters.
    assert woken["next_attempt_at"] == world.clock.now() and woken["attempts"] == 6
    after = await world.pool.fetchrow(
        "SELECT claimed_by, claimed_until FROM snapshot WHERE external_id = 'S1'"
    )
    assert after == before and in_flight.external_id == "S1"
