"""The orders flow writes a claimed batch's intents in one statement and its outcomes behind: one bad order
stays with its reason, the intent of every create is durable before the create is sent, and outcomes lost
with a crash repeat nothing in FFN."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import asyncpg
import pytest

from daemon.engine.cycle import CycleCounts
from daemon.engine.flows import order_batch, orders, shipments, status
from daemon.ids import outbound_id
from daemon.model import (
    FulfillerStatus,
    OrderLine,
    Outbound,
    OutboundStatus,
    Shipment,
    ShipmentLine,
    Tracking,
)
from daemon.store import batches
from daemon.store.batches import OutcomeBatch, collecting
from daemon.store.db import INSTANCE_ID
from daemon.store.snapshot import ENTITY_ORDER, Claimed, Pulled, Snapshot
from tests.daemon.engine.conftest import World


async def cycle(world: World) -> CycleCounts:
    counts = CycleCounts()
    await orders.run(world.ctx, world.ctx.settings.channel("shop"), counts)
    return counts


async def rows(world: World) -> dict[str, tuple[str, str | None, str | None]]:
    found = await world.pool.fetch(
        "SELECT external_id, state, reason_code, remote_id FROM snapshot WHERE entity = 'order'"
    )
    return {r["external_id"]: (r["state"], r["reason_code"], r["remote_id"]) for r in found}


async def test_one_bad_order_in_a_batch_is_parked_with_its_reason_and_the_rest_are_exported(
    world: World,
) -> None:
    for n in range(1, 7):
        world.order(n)
    world.order(3, lines=(OrderLine("l1", "NOT-IN-FFN", "New thing", 1),))
    world.order(5, shipping_methods=("Teleport",))
    counts = await cycle(world)
    assert (counts.pushed, counts.failed) == (4, 2)
    got = await rows(world)
    assert got["3"] == ("failed", "unknown_sku", None)  # no intent: nothing was ever sent for it
    assert got["5"] == ("failed", "unmapped_shipping_method", None)
    for n in (1, 2, 4, 6):
        assert got[str(n)] == ("synced", None, outbound_id("MERC", "shop", str(n)))
    assert sorted(world.ffn.outbounds) == sorted(outbound_id("MERC", "shop", str(n)) for n in (1, 2, 4, 6))


async def test_each_create_is_sent_after_its_intent_and_intents_go_a_chunk_at_a_time(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(order_batch, "INTENT_CHUNK", 2)
    for n in range(1, 6):
        world.order(n)
    real_create = world.ffn.create_outbound
    real_intents = world.ctx.snapshot.record_intents
    chunks: list[int] = []
    own_intent_first: list[bool] = []

    async def record_intents(intents: list[tuple[Claimed, str, str]]) -> None:
        chunks.append(len(intents))
        await real_intents(intents)

    async def create(outbound: Outbound) -> str:
        # What a crash right now would leave: this order says "a create may have happened".
        own_intent_first.append(
            await world.pool.fetchval(
                "SELECT remote_id = $1 FROM snapshot WHERE entity = 'order' AND external_id = $2",
                outbound.outbound_id,
                outbound.merchant_outbound_number.removeprefix("S-#"),
            )
        )
        return await real_create(outbound)

    world.ffn.create_outbound = create  # type: ignore[method-assign]
    world.ctx.snapshot.record_intents = record_intents  # type: ignore[method-assign]
    assert (await cycle(world)).pushed == 5
    assert own_intent_first == [True] * 5
    # One statement per chunk, not per order, and never the whole batch ahead of its creates.
    assert chunks == [2, 2, 1]


async def test_outcomes_lost_with_a_crash_repeat_nothing_in_ffn(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(1, 6):
        world.order(n)

    async def database_gone(*_: object) -> None:
        raise asyncpg.InterfaceError("connection lost")

    # The creates reach FFN, then the process loses the database (and dies) before the outcomes are written.
    monkeypatch.setattr(batches, "write_done", database_gone)
    await cycle(world)
    assert len(world.ffn.outbounds) == 5
    pending = await rows(world)
    assert all(state == "pending" and remote_id is not None for state, _, remote_id in pending.values())
    monkeypatch.undo()

    # The claims still hold the rows until they lapse; then the orders run again and FFN adopts each.
    assert (await cycle(world)).pushed == 0
    world.clock.advance(61)
    assert (await cycle(world)).pushed == 5
    assert len(world.ffn.outbounds) == 5
    assert [w[0] for w in world.ffn.writes] == ["create_outbound"] * 10
    assert {state for state, _, _ in (await rows(world)).values()} == {"synced"}


async def test_a_buffered_outcome_never_overwrites_a_later_one_of_the_same_row(world: World) -> None:
    world.order(1)
    snapshot = Snapshot(world.pool, "acme")
    await cycle(world)  # the row exists; make it pending and claimed again
    await world.pool.execute("UPDATE snapshot SET state = 'pending', pushed_hash = NULL")
    now = world.clock.now()
    [item] = await snapshot.claim(["shop"], ENTITY_ORDER, now=now + timedelta(seconds=1), limit=10)
    batch = OutcomeBatch(world.pool, "acme")
    with collecting(batch):
        await snapshot.done(item, now=now)
        assert len(batch) == 1  # written behind, not yet in the table
        await snapshot.park(item, "manual_action", "a human must look")
    await batch.flush()
    state = await world.pool.fetchrow("SELECT state, reason_code, claimed_by FROM snapshot")
    assert tuple(state) == ("failed", "manual_action", None)


async def test_an_intent_is_written_only_to_rows_this_process_still_holds(world: World) -> None:
    world.order(1)
    world.order(2)
    snapshot = Snapshot(world.pool, "acme")
    await cycle(world)  # the rows exist; make them pending and claimed again
    await world.pool.execute("UPDATE snapshot SET state = 'pending', pushed_hash = NULL, remote_id = NULL")
    items = await snapshot.claim(
        ["shop"], ENTITY_ORDER, now=world.clock.now() + timedelta(seconds=1), limit=10
    )
    assert sorted(i.external_id for i in items) == ["1", "2"]
    # A new lease holder took order 2 over while this process was stopped.
    await world.pool.execute("UPDATE snapshot SET claimed_by = 'the-new-owner' WHERE external_id = '2'")
    await batches.record_intents(world.pool, "acme", [(i, f"OB-{i.external_id}", "h") for i in items])
    got = await world.pool.fetch("SELECT external_id, remote_id FROM snapshot ORDER BY external_id")
    assert [tuple(r) for r in got] == [("1", "OB-1"), ("2", None)]


async def test_outcomes_are_written_in_batches_of_flush_at(world: World) -> None:
    for n in range(1, 4):
        world.order(n)
    await cycle(world)
    await world.pool.execute("UPDATE snapshot SET state = 'pending', pushed_hash = NULL")
    snapshot = Snapshot(world.pool, "acme")
    now = world.clock.now() + timedelta(seconds=1)
    items = await snapshot.claim(["shop"], ENTITY_ORDER, now=now, limit=10)
    batch = OutcomeBatch(world.pool, "acme", flush_at=2)
    with collecting(batch):
        for item in items:
            await snapshot.done(item, now=now)
    assert len(batch) == 1  # two were written when the second arrived
    synced = await world.pool.fetchval("SELECT count(*) FROM snapshot WHERE state = 'synced'")
    assert synced == 2
    await batch.flush()
    assert await world.pool.fetchval("SELECT count(*) FROM snapshot WHERE claimed_by = $1", INSTANCE_ID) == 0


async def test_a_page_compares_hashes_first_and_writes_only_what_changed(world: World) -> None:
    snapshot = Snapshot(world.pool, "acme")
    now = world.clock.now()
    first = [Pulled("1", {"v": 1}, "h1", "#1"), Pulled("2", {"v": 2}, "h2", "#2")]
    async with world.pool.acquire() as conn:
        assert sorted(await snapshot.upsert(conn, "shop", ENTITY_ORDER, first, now=now)) == ["1", "2"]
        # A page repeating order 1, its last copy changed: the last copy counts, as in the upsert itself.
        page = [
            Pulled("1", {"v": 1}, "h1", "#1"),
            Pulled("2", {"v": 2}, "h2", "#2"),
            Pulled("1", {"v": 9}, "h9", "#1"),
        ]
        stored = await snapshot.stored(conn, "shop", ENTITY_ORDER, page, payloads=True)
        assert stored.unchanged == {"2"}
        assert stored.payloads == {"1": {"v": 1}}  # what the shop's stock watch compares with
        assert await snapshot.upsert(conn, "shop", ENTITY_ORDER, page, now=now, stored=stored) == ["1"]
        assert await snapshot.upsert(conn, "shop", ENTITY_ORDER, page, now=now) == []
    assert await world.pool.fetchval("SELECT payload FROM snapshot WHERE external_id = '1'") == {"v": 9}


async def test_a_batch_of_shipments_lands_each_on_its_own_order_and_one_bad_one_stays_alone(
    world: World,
) -> None:
    for n in range(1, 5):
        world.order(n)
    assert (await cycle(world)).pushed == 4
    for n in range(1, 5):
        oid = outbound_id("MERC", "shop", str(n))
        jfsku = "UNKNOWN0003" if n == 3 else "JFSKU000001"  # a jfsku no product of ours carries
        world.ffn.shipments.append(
            Shipment(
                f"N{n}",
                oid,
                f"S-#{n}",
                lines=(ShipmentLine(Decimal(2), jfsku=jfsku),),
                trackings=(Tracking(f"T-{n}", "DHL"),),
                updated_at=world.clock.now() - timedelta(seconds=20),
            )
        )
    world.clock.advance(60)
    counts = CycleCounts()
    await shipments.run(world.ctx, counts)
    assert (counts.pushed, counts.failed) == (3, 1)
    assert sorted((order, s.shipment_id) for order, s in world.shop.fulfilments) == [
        ("1", "N1"),
        ("2", "N2"),
        ("4", "N4"),
    ]
    parked = await world.pool.fetchrow(
        "SELECT external_id, state FROM snapshot WHERE entity = 'shipment' AND state = 'failed'"
    )
    assert tuple(parked) == ("N3", "failed")


async def test_status_changes_of_a_feed_page_are_recorded_together_and_the_last_one_of_an_outbound_counts(
    world: World,
) -> None:
    world.order(1)
    await cycle(world)
    oid = outbound_id("MERC", "shop", "1")
    at = world.clock.now() - timedelta(seconds=20)
    world.ffn.changes.extend(
        [
            FulfillerStatus(oid, "S-#1", OutboundStatus.ACKNOWLEDGED, updated_at=at),
            FulfillerStatus("MERC02NOTOURS", "X-1", OutboundStatus.SHIPPED, updated_at=at),
            FulfillerStatus(oid, "S-#1", OutboundStatus.LOCKED, updated_at=at),
        ]
    )
    world.clock.advance(60)
    await status.run(world.ctx, CycleCounts())
    assert await world.pool.fetchval("SELECT remote_status FROM snapshot WHERE entity = 'order'") == "Locked"
