"""Take-overs: the take-over times belong to the process (shared by its reloads, by nobody else), and a
merchant taken from another instance runs its orders flow at once, the take-overs of one renewal spread
over a share of the lease timeout, instead of waiting for its next point on the flow's grid."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from daemon.app import Daemon
from daemon.config import load_config
from daemon.engine.context import MerchantContext
from daemon.engine.jobs import merchant_jobs
from daemon.jobrunner import JobSpec
from daemon.runtime import EmptyRuntime, build_empty_runtime
from daemon.wiring.build import MerchantRuntime
from daemon.wiring.ownership import RENEWALS_PER_TIMEOUT, Ownership
from daemon.wiring.settings import intervals, merchant_settings
from daemon.wiring.takeovers import PROMPT_SPREAD_SHARE, TakeOvers
from tests.daemon.config.sample import ENV, merchant_toml, write
from tests.daemon.engine.fakes import FakeFulfiller, FakeShop
from tests.daemon.wiring.test_balancing import HeldClock, fleet, settle

__all__ = ["fleet"]  # the fixture, used by name

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
MERCHANTS = ["m0", "m1", "m2", "m3"]
TIMEOUT_S = 10.0


class SpreadClock(HeldClock):
    """The renewal loop's sleep never ends (the test renews); any other sleep is recorded and passes."""

    def __init__(self) -> None:
        super().__init__(T0)
        self.gaps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        if seconds == TIMEOUT_S / RENEWALS_PER_TIMEOUT:
            await super().sleep(seconds)
        self.gaps.append(seconds)
        await asyncio.sleep(0)


async def spread_done() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_a_killed_instance_s_merchants_run_at_once_spread_not_at_start(
    fleet: Callable[..., Ownership],
) -> None:
    clock = SpreadClock()
    first = fleet("prompt-a", merchants=MERCHANTS, timeout_s=TIMEOUT_S, clock=clock)
    second = fleet("prompt-b", merchants=MERCHANTS, timeout_s=TIMEOUT_S, clock=clock)
    ran: dict[str, list[str]] = {"a": [], "b": []}
    first.prompt_runs.run, second.prompt_runs.run = ran["a"].append, ran["b"].append

    await first.renew()
    await spread_done()
    assert first.owned == set(MERCHANTS) and ran["a"] == []  # starting is no take-over: the grid spreads it

    await settle(second, first)  # the newcomer's share comes by hand-over, after its first renewal
    await spread_done()
    handed = sorted(second.owned)
    assert len(handed) == 2 and ran["b"] == handed
    clock.gaps.clear()

    victims = sorted(first.owned)
    lease = first._lease
    assert lease is not None
    lease._conn.terminate()  # kill -9
    for _ in range(50):
        await second.renew()
        if second.owned == set(MERCHANTS):
            break
        await asyncio.sleep(0.05)
    await spread_done()
    assert ran["b"] == handed + victims  # at once, not at their next grid point
    window = TIMEOUT_S * PROMPT_SPREAD_SHARE
    assert clock.gaps == [window / len(victims)] * (len(victims) - 1)  # spread over the window


async def test_a_reload_takes_its_merchants_back_without_a_run_out_of_turn(
    fleet: Callable[..., Ownership],
) -> None:
    clock = SpreadClock()
    process = TakeOvers()
    before = fleet("again-a", merchants=["acme"], timeout_s=TIMEOUT_S, clock=clock, take_overs=process)
    await before.renew()
    after = fleet("again-a", merchants=["acme"], timeout_s=TIMEOUT_S, clock=clock, take_overs=process)
    ran: list[str] = []
    after.prompt_runs.run = ran.append
    await after.renew()
    await before.aclose()
    await after.renew()
    await spread_done()
    assert after.owned == {"acme"} and ran == []


async def test_take_over_times_belong_to_the_process_not_the_module(fleet: Callable[..., Ownership]) -> None:
    clock = HeldClock(T0)
    gone = fleet("leak-a", merchants=["acme"], clock=clock, timeout_s=30)
    await gone.renew()
    clock.advance(10)
    await gone.aclose()
    # Another process (or test) with the same instance id: nothing of the first one's times reaches it.
    fresh = fleet("leak-a", merchants=["acme"], clock=clock, timeout_s=30)
    await fresh.renew()
    assert fresh.owned_since() == {"acme": T0 + timedelta(seconds=10)}


async def test_the_runtime_runs_the_taken_merchant_s_orders_jobs_only(
    fleet: Callable[..., Ownership],
) -> None:
    async def idle() -> None:
        return None

    jobs = [
        JobSpec("acme", channel, flow, 60.0, idle)
        for channel, flow in (("shop", "orders"), ("web", "orders"), ("shop", "stock"), (None, "shipments"))
    ] + [JobSpec("globex", "shop", "orders", 60.0, idle)]
    ownership = fleet("jobs-a", merchants=["acme", "globex"])
    runtime = MerchantRuntime(jobs=jobs, ownership=ownership)
    triggered: list[str] = []

    def trigger(name: str) -> bool:
        triggered.append(name)
        return True

    runtime.bind_trigger(trigger)
    assert ownership.prompt_runs.run is not None
    ownership.prompt_runs.run("acme")
    assert triggered == ["acme/shop/orders", "acme/web/orders"]


async def test_the_process_wires_its_scheduler_to_the_take_overs(fleet: Callable[..., Ownership]) -> None:
    async def idle() -> None:
        return None

    ownership = fleet("wired-a", merchants=["acme"])
    runtime = MerchantRuntime(jobs=[JobSpec("acme", "shop", "orders", 60.0, idle)], ownership=ownership)
    daemon = Daemon(Path("merchants"), None, factory=build_empty_runtime)  # type: ignore[arg-type]
    triggered: list[str] = []
    daemon.scheduler.trigger = lambda name: triggered.append(name) is None  # type: ignore[method-assign]
    daemon._follow_take_overs(runtime)  # at start and after each reload, once the jobs are scheduled
    daemon._follow_take_overs(EmptyRuntime())  # a runtime without ownership: nothing to follow
    assert ownership.prompt_runs.run is not None
    ownership.prompt_runs.run("acme")
    assert triggered == ["acme/shop/orders"]


async def test_a_taken_merchant_s_shops_compare_their_stock_at_once(
    fleet: Callable[..., Ownership], tmp_path: Path
) -> None:
    """The previous holder (or a tool while nobody held it) may have changed anything the stock targets
    depend on: every shop of a taken merchant compares now, not at its next safety run (900 s)."""
    (merchant,) = load_config(write(tmp_path, "a.toml", merchant_toml()), environ=ENV).merchants
    ctx = MerchantContext(
        settings=merchant_settings(merchant),
        pool=None,  # type: ignore[arg-type]  # no cycle runs here
        fulfiller=FakeFulfiller(),
        channels={"shop": FakeShop()},
    )
    ownership = fleet("stock-a", merchants=["acme"])
    runtime = MerchantRuntime(
        contexts=[ctx], jobs=merchant_jobs(ctx, intervals(merchant)), ownership=ownership
    )
    triggered: list[str] = []
    runtime.bind_trigger(lambda name: triggered.append(name) is None)
    generation = await ctx.stock_changes.begin("shop")  # compared since start: nothing due
    assert generation is not None
    ctx.stock_changes.end("shop", generation, clean=True)
    assert not ctx.stock_changes.due("shop")

    assert ownership.prompt_runs.run is not None
    ownership.prompt_runs.run("acme")
    assert triggered == ["acme/shop/stock", "acme/shop/orders"]
    assert ctx.stock_changes.due("shop")
