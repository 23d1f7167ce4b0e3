"""A cycle stopped by the lease fence (daemon.fence) leaves nothing behind but free claims."""

from __future__ import annotations

import pytest

from daemon.engine import push
from daemon.engine.cycle import CycleCounts, run_cycle
from daemon.fence import LeaseExpired
from daemon.store.snapshot import ENTITY_SHIPMENT
from tests.daemon.engine.conftest import World
from tests.daemon.engine.test_order_claims import claim, queue


async def test_a_fenced_cycle_parks_nothing_and_keeps_no_record(world: World) -> None:
    """The stale owner's cycle stops at its next request: no dead letter, no outcome, no flow record; its
    claims go back to the queue for the new owner."""
    await queue(world, ENTITY_SHIPMENT, [("S1", "1"), ("S2", "2")])

    async def stale(item: object) -> str:
        raise LeaseExpired("merchant acme: this instance may no longer hold its lease")

    async def body(counts: CycleCounts) -> None:
        await push.drain(world.ctx, channels=["shop"], entity=ENTITY_SHIPMENT, handler=stale, counts=counts)

    with pytest.raises(LeaseExpired):
        await run_cycle(world.ctx, "shop", "shipments", 60.0, body)

    rows = await world.pool.fetch("SELECT state, attempts, last_error FROM snapshot ORDER BY external_id")
    assert [(r["state"], r["attempts"], r["last_error"]) for r in rows] == [("pending", 0, None)] * 2
    assert await world.pool.fetchval("SELECT count(*) FROM flow_health") == 0
    assert len(await claim(world, ENTITY_SHIPMENT)) == 2  # free for the new owner at once
