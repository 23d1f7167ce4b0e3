from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from daemon.engine.cycle import CycleCounts
from daemon.engine.flows import orders
from daemon.ids import outbound_id
from daemon.model import OrderLine, Outbound, OutboundStatus, PaymentState
from daemon.ports import UnreadableOrder
from tests.daemon.engine.conftest import World


async def cycle(world: World) -> CycleCounts:
    counts = CycleCounts()
    await orders.run(world.ctx, world.ctx.settings.channel("shop"), counts)
    return counts


async def states(world: World) -> dict[str, tuple[str, str | None]]:
    rows = await world.pool.fetch(
        "SELECT external_id, state, reason_code FROM snapshot WHERE entity = 'order'"
    )
    return {r["external_id"]: (r["state"], r["reason_code"]) for r in rows}


async def test_eligible_order_becomes_exactly_one_outbound_and_rerun_writes_nothing(world: World) -> None:
    world.order(1)
    counts = await cycle(world)
    assert (counts.pulled, counts.changed, counts.pushed) == (1, 1, 1)
    oid = outbound_id("MERC", "shop", "1")
    assert list(world.ffn.outbounds) == [oid]
    assert world.ffn.outbounds[oid].merchant_outbound_number == "S-#1"
    assert world.ffn.outbounds[oid].items[0].jfsku == "JFSKU000001"

    world.clock.advance(60)
    again = await cycle(world)
    assert (again.changed, again.pushed) == (0, 0)
    assert world.ffn.writes == [("create_outbound", oid)]


async def test_ineligible_orders_are_skipped_with_a_reason_and_invalid_ones_parked(world: World) -> None:
    world.order(1, payment_state=PaymentState.PENDING)
    world.order(2, lines=(OrderLine("l1", "EBOOK", "E-Book", 1, requires_shipping=False),))
    world.order(3, lines=(OrderLine("l1", None, "No SKU", 1),))
    world.order(4, shipping_methods=("Teleport",))
    world.order(5, lines=(OrderLine("l1", "NOT-IN-FFN", "New thing", 1),))
    counts = await cycle(world)
    assert counts.skipped == 1 and counts.failed == 3 and counts.pushed == 0
    got = await states(world)
    assert got["1"] == ("skipped", "waiting")  # unpaid: waits for payment (and keeps its stock reserved)
    assert got["2"] == ("skipped", "skipped")
    assert got["3"] == ("failed", "missing_sku")
    assert got["4"] == ("failed", "unmapped_shipping_method")
    assert got["5"] == ("failed", "unknown_sku")
    reason = await world.pool.fetchval("SELECT last_error FROM snapshot WHERE external_id = '4'")
    assert "'Teleport'" in reason and "S-#4" in reason
    assert world.ffn.writes == []


async def test_paying_later_makes_a_skipped_order_eligible(world: World) -> None:
    order = world.order(1, payment_state=PaymentState.PENDING)
    await cycle(world)
    world.clock.advance(30)
    world.shop.put(
        replace(order, payment_state=PaymentState.PAID, updated_at=world.clock.now() - timedelta(seconds=10))
    )
    world.clock.advance(30)
    counts = await cycle(world)
    assert counts.pushed == 1 and len(world.ffn.outbounds) == 1


async def test_hold_time_delays_export_without_any_shop_change(world: World) -> None:
    world.ctx.settings = replace(
        world.ctx.settings,
        channels=(
            replace(
                world.ctx.settings.channel("shop"),
                eligibility=replace(world.ctx.settings.channel("shop").eligibility, hold_minutes=30),
            ),
        ),
    )
    world.order(1)
    assert (await cycle(world)).pushed == 0
    world.clock.advance(31 * 60)
    assert (await cycle(world)).pushed == 1


async def test_edit_before_lock_patches_and_after_lock_parks_for_manual_action(world: World) -> None:
    order = world.order(1)
    await cycle(world)
    oid = outbound_id("MERC", "shop", "1")
    world.clock.advance(30)
    edited = replace(
        order,
        lines=(replace(order.lines[0], quantity=3),),
        updated_at=world.clock.now() - timedelta(seconds=10),
    )
    world.shop.put(edited)
    world.clock.advance(30)
    counts = await cycle(world)
    assert counts.pushed == 1
    assert world.ffn.outbounds[oid].items[0].quantity == Decimal(3)

    world.ffn.statuses[oid] = OutboundStatus.LOCKED
    await world.pool.execute("UPDATE snapshot SET remote_status = 'Locked'")
    world.clock.advance(30)
    world.shop.put(
        replace(
            edited,
            lines=(replace(order.lines[0], quantity=4),),
            updated_at=world.clock.now() - timedelta(seconds=10),
        )
    )
    world.clock.advance(30)
    counts = await cycle(world)
    assert counts.failed == 1
    state, code = (await states(world))["1"]
    assert (state, code) == ("failed", "manual_action")
    reason = await world.pool.fetchval("SELECT last_error FROM snapshot WHERE external_id = '1'")
    assert "by hand" in reason and "S-#1" in reason


async def test_shop_cancel_cancels_the_outbound_and_a_late_cancel_is_parked(world: World) -> None:
    first, second = world.order(1), world.order(2)
    await cycle(world)
    world.ffn.statuses[outbound_id("MERC", "shop", "2")] = OutboundStatus.PICKPROCESS
    world.clock.advance(30)
    for order in (first, second):
        world.shop.put(replace(order, cancelled=True, updated_at=world.clock.now() - timedelta(seconds=10)))
    world.clock.advance(30)
    counts = await cycle(world)
    assert counts.pushed == 1 and counts.failed == 1
    assert world.ffn.statuses[outbound_id("MERC", "shop", "1")] == OutboundStatus.CANCELED
    assert (await states(world))["2"] == ("failed", "manual_action")


async def test_change_that_ffn_does_not_carry_causes_no_ffn_write(world: World) -> None:
    order = world.order(1)
    await cycle(world)
    world.clock.advance(30)
    world.shop.put(
        replace(
            order,
            tags=("gift",),
            shop_status="fulfilled",
            updated_at=world.clock.now() - timedelta(seconds=5),
        )
    )
    world.clock.advance(30)
    counts = await cycle(world)
    assert counts.changed == 1 and counts.pushed == 0
    assert [w[0] for w in world.ffn.writes] == ["create_outbound"]


async def test_a_crash_after_create_before_bookkeeping_adopts_instead_of_duplicating(world: World) -> None:
    world.order(1)
    await cycle(world)
    # Simulate losing the bookkeeping of a create that reached FFN.
    await world.pool.execute(
        "UPDATE snapshot SET state = 'pending', pushed_hash = NULL, remote_status = NULL,"
        " claimed_by = 'dead-worker', claimed_until = $1",
        world.clock.now() + timedelta(seconds=60),
    )
    assert (await cycle(world)).pushed == 0  # the dead worker's claim lease still holds the row
    world.clock.advance(61)
    assert (await cycle(world)).pushed == 1
    assert len(world.ffn.outbounds) == 1
    assert [w[0] for w in world.ffn.writes] == ["create_outbound", "create_outbound"]
    assert (await states(world))["1"] == ("synced", None)


async def test_an_unexpected_error_stays_with_its_record_and_parks_it_after_the_attempts(
    world: World,
) -> None:
    world.order(1)
    world.order(2)
    poisoned = outbound_id("MERC", "shop", "2")
    real_create = world.ffn.create_outbound

    async def create(outbound: Outbound) -> str:
        if outbound.outbound_id == poisoned:
            raise KeyError("warehouse")  # a bug, not a vendor answer
        return await real_create(outbound)

    world.ffn.create_outbound = create  # type: ignore[method-assign]
    counts = await cycle(world)
    assert (counts.pushed, counts.retried) == (1, 1)
    for _ in range(world.ctx.settings.max_attempts):
        world.clock.advance(7200)
        await cycle(world)
    state, code = (await states(world))["2"]
    assert (state, code) == ("failed", "internal_error")
    assert "KeyError" in await world.pool.fetchval("SELECT last_error FROM snapshot WHERE external_id = '2'")


async def test_an_order_the_adapter_cannot_read_is_parked_and_the_rest_go_on(world: World) -> None:
    world.order(1)
    world.shop.unreadable.append(
        UnreadableOrder(
            "77", "1077", "cannot be read: currency missing", world.clock.now() - timedelta(seconds=30)
        )
    )
    counts = await cycle(world)
    assert (counts.pushed, counts.failed) == (1, 1)
    state, code = (await states(world))["77"]
    assert (state, code) == ("failed", "unreadable_order")
    reason = await world.pool.fetchval("SELECT last_error FROM snapshot WHERE external_id = '77'")
    assert "1077" in reason and "currency missing" in reason

    # Fixed in the shop: the order is read normally and exported.
    world.shop.unreadable.clear()
    world.clock.advance(30)
    world.order(77, updated_at=world.clock.now() - timedelta(seconds=10))
    assert (await cycle(world)).pushed == 1
    assert (await states(world))["77"] == ("synced", None)
