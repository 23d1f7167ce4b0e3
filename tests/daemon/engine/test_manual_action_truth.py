"""No false manual_action dead letters: what FFN holds is known after an adoption, cancelled outbounds
are never PATCHed, and an operator's retry asks FFN where the outbound stands."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from daemon.engine.reports import retry
from daemon.ids import outbound_id
from daemon.model import OWN_NOTE_PREFIX, Outbound, OutboundStatus, shop_written_note
from tests.daemon.engine.conftest import World
from tests.daemon.engine.test_orders_flow import cycle, states


async def _edit_in_shop_while_ffn_says(world: World, status: OutboundStatus, note: str) -> str:
    """Export order 1, let FFN move its outbound to ``status``, then edit the order in the shop."""
    order = world.order(1)
    await cycle(world)
    oid = outbound_id("MERC", "shop", "1")
    world.ffn.statuses[oid] = status
    await world.ctx.snapshot.set_remote_statuses("order", [(oid, status.value)])
    world.clock.advance(30)
    world.shop.put(replace(order, note=note, updated_at=world.clock.now() - timedelta(seconds=10)))
    world.clock.advance(30)
    return oid


async def test_an_outbound_adopted_by_the_status_flow_is_not_patched_once_it_ships(world: World) -> None:
    world.order(1)
    oid = outbound_id("MERC", "shop", "1")
    real_create = world.ffn.create_outbound

    async def create_then_lose_the_answer(outbound: Outbound) -> str:
        await real_create(outbound)
        raise ConnectionResetError("answer lost")

    world.ffn.create_outbound = create_then_lose_the_answer  # type: ignore[method-assign]
    assert (await cycle(world)).retried == 1
    # The status flow sees the outbound, shipped by now, and adopts it.
    world.ffn.statuses[oid] = OutboundStatus.SHIPPED
    await world.ctx.snapshot.set_remote_statuses("order", [(oid, OutboundStatus.SHIPPED.value)])
    world.clock.advance(3600)
    counts = await cycle(world)
    assert counts.failed == 0
    assert [w for w in world.ffn.writes if w[0] == "update_outbound"] == []
    assert (await states(world))["1"] == ("synced", None)


async def test_our_note_about_a_fulfiller_cancel_is_no_shop_edit(world: World) -> None:
    order = world.order(1, note="please ring twice")
    await cycle(world)
    oid = outbound_id("MERC", "shop", "1")
    world.ffn.statuses[oid] = OutboundStatus.CANCELED
    await world.ctx.snapshot.set_remote_statuses("order", [(oid, OutboundStatus.CANCELED.value)])
    world.clock.advance(30)
    noted = f"please ring twice\n{OWN_NOTE_PREFIX}the fulfiller cancelled outbound {oid} (damaged)"
    world.shop.put(replace(order, note=noted, updated_at=world.clock.now() - timedelta(seconds=10)))
    world.clock.advance(30)
    counts = await cycle(world)
    assert (counts.changed, counts.failed) == (1, 0)
    assert [w[0] for w in world.ffn.writes] == ["create_outbound"]
    assert (await states(world))["1"] == ("synced", None)


async def test_retry_of_a_manual_action_clears_it_when_ffn_has_moved_on(world: World) -> None:
    oid = await _edit_in_shop_while_ffn_says(world, OutboundStatus.LOCKED, "leave at the door")
    assert (await cycle(world)).failed == 1
    assert (await states(world))["1"] == ("failed", "manual_action")

    # The operator applied the edit by hand; FFN has shipped it meanwhile.
    world.ffn.statuses[oid] = OutboundStatus.SHIPPED
    assert await retry(world.pool, merchant="acme", key="#1", now=world.clock.now()) == 1
    counts = await cycle(world)
    assert counts.failed == 0
    assert (await states(world))["1"] == ("synced", None)
    assert [w[0] for w in world.ffn.writes] == ["create_outbound", "update_outbound"]  # no second PATCH
    world.clock.advance(60)
    assert (await cycle(world)).failed == 0  # and it stays cleared


async def test_retry_of_a_manual_action_patches_when_ffn_allows_it_again(world: World) -> None:
    oid = await _edit_in_shop_while_ffn_says(world, OutboundStatus.LOCKED, "leave at the door")
    await cycle(world)
    world.ffn.statuses[oid] = OutboundStatus.PENDING  # the fulfiller put it back
    await retry(world.pool, merchant="acme", key="#1", now=world.clock.now())
    assert (await cycle(world)).pushed == 1
    assert world.ffn.outbounds[oid].external_note == "leave at the door"
    assert (await states(world))["1"] == ("synced", None)


@pytest.mark.parametrize(
    "status", [OutboundStatus.CANCELED, OutboundStatus.PARTIALLY_CANCELED, OutboundStatus.SHIPPED]
)
async def test_a_shop_edit_of_a_finished_outbound_is_not_sent(world: World, status: OutboundStatus) -> None:
    await _edit_in_shop_while_ffn_says(world, status, "new note")
    assert (await cycle(world)).failed == 0
    assert [w[0] for w in world.ffn.writes] == ["create_outbound"]
    assert (await states(world))["1"] == ("synced", None)


@pytest.mark.parametrize(
    "note", ["ring twice", "ring twice ", "ring\r\ntwice", "ring\r\ntwice\r\n", "\nring twice", " ", ""]
)
def test_our_line_appended_to_any_note_leaves_the_shop_written_note_unchanged(note: str) -> None:
    own = f"{OWN_NOTE_PREFIX}the fulfiller partially cancelled outbound X (damaged)"
    appended = f"{note}\n{own}" if note else own  # as the Shopify write-back appends it
    assert shop_written_note(appended) == shop_written_note(note)
    assert shop_written_note(f"{note}\r\n{own}") == shop_written_note(note)


def test_only_lines_ffn_sync_wrote_leave_the_note() -> None:
    assert shop_written_note(None) is None
    assert shop_written_note("ring twice") == "ring twice"
    assert shop_written_note(f"{OWN_NOTE_PREFIX}the fulfiller cancelled outbound X") is None
    assert shop_written_note(f"ring twice\n{OWN_NOTE_PREFIX}x\nback door") == "ring twice\nback door"
    assert shop_written_note(f"see {OWN_NOTE_PREFIX}x") == f"see {OWN_NOTE_PREFIX}x"  # only whole lines


async def test_an_edit_after_a_lost_create_answer_reaches_the_adopted_outbound(world: World) -> None:
    order = world.order(1)
    oid = outbound_id("MERC", "shop", "1")
    real_create = world.ffn.create_outbound

    async def create_then_lose_the_answer(outbound: Outbound) -> str:
        await real_create(outbound)
        raise ConnectionResetError("answer lost")

    world.ffn.create_outbound = create_then_lose_the_answer  # type: ignore[method-assign]
    await cycle(world)
    world.ffn.create_outbound = real_create  # type: ignore[method-assign]
    world.clock.advance(30)
    world.shop.put(
        replace(
            order,
            lines=(replace(order.lines[0], quantity=3),),
            updated_at=world.clock.now() - timedelta(seconds=10),
        )
    )
    world.clock.advance(3600)
    assert (await cycle(world)).failed == 0
    assert world.ffn.outbounds[oid].items[0].quantity == 3
    assert (await states(world))["1"] == ("synced", None)
