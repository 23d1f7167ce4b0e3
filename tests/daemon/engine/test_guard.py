"""GuardedChannel: a deadline per write and a circuit breaker per shop."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from daemon.clock import FakeClock
from daemon.engine.cycle import CycleCounts
from daemon.engine.flows import shipments
from daemon.engine.guard import ChannelUnavailable, GuardedChannel
from daemon.errors import AuthError, RecordError, RetryableError
from daemon.model import (
    FulfillerStatus,
    OrderRef,
    OutboundStatus,
    PaymentState,
    Shipment,
    ShopOrder,
    ShopStock,
)
from daemon.ports import ItemResult
from tests.daemon.engine.conftest import World
from tests.daemon.engine.fakes import FakeShop


class HungShop(FakeShop):
    async def apply_order_status(
        self, order: OrderRef, status: FulfillerStatus, *, cancel_in_shop: bool
    ) -> None:
        self.statuses.append((order.order_id, status, cancel_in_shop))
        await asyncio.sleep(3600)  # accepts, never answers


class RevokedShop(FakeShop):
    async def apply_order_status(
        self, order: OrderRef, status: FulfillerStatus, *, cancel_in_shop: bool
    ) -> None:
        self.statuses.append((order.order_id, status, cancel_in_shop))
        raise AuthError("credentials rejected", upstream="fake", status=401)


STATUS = FulfillerStatus("O1", "S-1", OutboundStatus.CANCELED)


async def test_a_hung_shop_costs_one_deadline_then_fails_fast_until_a_trial_succeeds() -> None:
    clock = FakeClock(datetime(2026, 1, 1, tzinfo=UTC))
    shop = HungShop()
    guarded = GuardedChannel("hung", shop, deadline_s=0.05, clock=clock)
    for _ in range(3):
        with pytest.raises(RetryableError, match=r"within 0\.05s"):
            await guarded.apply_order_status(OrderRef("1", "#1"), STATUS, cancel_in_shop=False)
    assert guarded.breaker.is_open and len(shop.statuses) == 3
    with pytest.raises(ChannelUnavailable):
        await guarded.apply_order_status(OrderRef("1", "#1"), STATUS, cancel_in_shop=False)
    assert len(shop.statuses) == 3  # not even attempted
    clock.advance(61)
    shop.__class__ = FakeShop  # the shop recovered
    shop.put(ShopOrder("1", "#1", clock.now(), clock.now(), "EUR", Decimal(0), PaymentState.PAID))
    await guarded.apply_order_status(OrderRef("1", "#1"), STATUS, cancel_in_shop=False)
    assert not guarded.breaker.is_open and guarded.breaker.failures == 0


async def test_revoked_credentials_pause_one_shop_without_stopping_the_batch_of_the_others() -> None:
    clock = FakeClock(datetime(2026, 1, 1, tzinfo=UTC))
    guarded = GuardedChannel("revoked", RevokedShop(), clock=clock)
    # Shipments and status drain every shop's rows together: a fatal error of one shop is retryable there.
    for _ in range(3):
        with pytest.raises(ChannelUnavailable, match="credentials rejected"):
            await guarded.apply_order_status(OrderRef("1", "#1"), STATUS, cancel_in_shop=False)
    assert guarded.breaker.is_open
    clock.advance(61)
    with pytest.raises(ChannelUnavailable):  # the trial fails: open again, for twice as long
        await guarded.apply_order_status(OrderRef("1", "#1"), STATUS, cancel_in_shop=False)
    assert guarded.breaker.open_until is not None
    assert (guarded.breaker.open_until - clock.now()).total_seconds() == 120


async def test_stock_writes_keep_fatal_errors_fatal_and_a_bad_record_does_not_trip_the_breaker() -> None:
    class Refusing(FakeShop):
        async def set_stock(self, levels: object) -> list[object]:  # type: ignore[override]
            raise AuthError("credentials rejected", upstream="fake", status=401)

    guarded = GuardedChannel("s", Refusing(), clock=FakeClock())
    with pytest.raises(AuthError):
        await guarded.set_stock([ShopStock("A", 1)])

    class BadRecord(FakeShop):
        async def apply_order_status(self, *args: object, **kw: object) -> None:
            raise RecordError("order gone", upstream="fake", status=404)

    record = GuardedChannel("r", BadRecord(), clock=FakeClock())
    for _ in range(5):
        with pytest.raises(RecordError):
            await record.apply_order_status(OrderRef("1", "#1"), STATUS, cancel_in_shop=False)
    assert not record.breaker.is_open


async def test_shipments_wait_for_a_shop_with_revoked_credentials_without_spending_attempts(
    world: World,
) -> None:
    from tests.daemon.engine.test_ffn_to_shop_flows import export, shipment

    await export(world, 1)
    shop = world.shop
    refusing = {"on": True}
    original = shop.apply_shipment

    async def apply(order: OrderRef, s: Shipment) -> None:
        if refusing["on"]:
            raise AuthError("credentials rejected", upstream="fake", status=401)
        await original(order, s)

    shop.apply_shipment = apply  # type: ignore[method-assign]
    world.ctx.channels = {"shop": GuardedChannel("shop", shop, clock=world.clock)}
    world.ffn.shipments.append(shipment(world, "N1", [("JFSKU000001", 2)], ("T-1",)))
    for _ in range(world.ctx.settings.max_attempts + 4):  # far more cycles than attempts allowed
        await shipments.run(world.ctx, CycleCounts())  # the job itself does not fail
        world.clock.advance(3600)
    row = await world.pool.fetchrow("SELECT state, attempts FROM snapshot WHERE entity = 'shipment'")
    assert (row["state"], row["attempts"]) == ("pending", 0)  # no dead letter, no attempt spent
    refusing["on"] = False
    world.clock.advance(3600)
    await shipments.run(world.ctx, CycleCounts())
    assert [s.shipment_id for _, s in shop.fulfilments] == ["N1"]


class SwitchableShop(FakeShop):
    """A shop whose stock write fails the way ``mode`` says: retryable, a bug, hung, or not at all."""

    mode = "retry"

    async def set_stock(self, levels: Sequence[ShopStock]) -> list[ItemResult]:
        if self.mode == "retry":
            raise RetryableError("shop down", upstream="switch")
        if self.mode == "bug":
            raise ValueError("maintenance page instead of JSON")
        if self.mode == "hang":
            await asyncio.sleep(3600)
        return []


async def _open(guarded: GuardedChannel) -> None:
    for _ in range(guarded.breaker.policy.threshold):
        with pytest.raises(RetryableError):
            await guarded.set_stock([])
    assert guarded.breaker.is_open


async def test_an_unexpected_error_during_the_trial_does_not_leave_writes_paused_for_good() -> None:
    clock = FakeClock(datetime(2026, 1, 1, tzinfo=UTC))
    shop = SwitchableShop()
    guarded = GuardedChannel("switch", shop, deadline_s=1, clock=clock)
    await _open(guarded)
    clock.advance(61)
    shop.mode = "bug"
    with pytest.raises(ValueError):
        await guarded.set_stock([])
    assert guarded.breaker.is_open  # the failed trial counts: open again, cool-down doubled
    shop.mode = "ok"
    clock.advance(121)
    assert await guarded.set_stock([]) == []
    assert not guarded.breaker.is_open and guarded.breaker.failures == 0


async def test_a_cancelled_trial_lets_the_next_call_try_again() -> None:
    clock = FakeClock(datetime(2026, 1, 1, tzinfo=UTC))
    shop = SwitchableShop()
    guarded = GuardedChannel("switch", shop, deadline_s=60, clock=clock)
    await _open(guarded)
    clock.advance(61)
    shop.mode = "hang"
    trial = asyncio.create_task(guarded.set_stock([]))
    await asyncio.sleep(0)
    trial.cancel()
    with pytest.raises(asyncio.CancelledError):
        await trial
    shop.mode = "ok"
    assert await guarded.set_stock([]) == []
    assert not guarded.breaker.is_open


async def test_a_burst_of_parallel_timeouts_opens_the_breaker_once_for_the_first_cool_down() -> None:
    clock = FakeClock(datetime(2026, 1, 1, tzinfo=UTC))
    shop = HungShop()
    guarded = GuardedChannel("hung", shop, deadline_s=0.05, clock=clock)

    async def one() -> None:
        with pytest.raises(RetryableError):
            await guarded.apply_order_status(OrderRef("1", "#1"), STATUS, cancel_in_shop=False)

    await asyncio.gather(*(one() for _ in range(8)))
    assert guarded.breaker.opened == 1
    assert guarded.breaker.open_until is not None
    assert (guarded.breaker.open_until - clock.now()).total_seconds() == 60
