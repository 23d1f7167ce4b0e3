"""A webhook-nudged orders run reads past the cursor lag (the order placed a second ago goes out now), while
the cursor itself keeps its lag; a nudge is taken once per burst and reports its trigger-to-run delay."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from loguru import logger

from daemon.clock import FakeClock
from daemon.engine.cursors import fresh_window
from daemon.engine.cycle import CycleCounts
from daemon.engine.flows import orders
from daemon.engine.nudges import MAX_GAP_S, Nudges
from daemon.engine.reports import resync
from daemon.engine.windows import LIST_COVERED_AFTER_S, read_position
from daemon.ids import outbound_id
from daemon.model import ShopOrder, Window
from daemon.ports import UnreadableOrder
from daemon.wiring.build import MerchantRuntime
from tests.daemon.engine.conftest import World
from tests.daemon.engine.test_reconcile_flow import ListingShop


async def cycle(world: World) -> CycleCounts:
    counts = CycleCounts()
    await orders.run(world.ctx, world.ctx.settings.channel("shop"), counts)
    return counts


async def cursor(world: World) -> datetime:
    position = await world.ctx.cursors.get("shop", "orders")
    assert position is not None
    return position


async def test_a_nudged_run_exports_an_order_inside_the_lag_and_the_cursor_keeps_its_lag(
    world: World,
) -> None:
    await cycle(world)  # the first run sets the cursor
    world.clock.advance(30)
    now = world.clock.now()
    world.order(7, created_at=now - timedelta(seconds=1), updated_at=now - timedelta(seconds=1))

    await cycle(world)  # polling alone: the 5 s lag hides it
    assert world.ffn.outbounds == {}

    world.ctx.nudges.request("shop", "orders")
    counts = await cycle(world)

    assert list(world.ffn.outbounds) == [outbound_id("MERC", "shop", "7")]
    assert counts.pushed == 1
    assert await cursor(world) == (now - timedelta(seconds=5)).replace(microsecond=0)

    world.clock.advance(60)  # the next ordinary run reads it again below the lag: nothing twice
    again = await cycle(world)
    assert (again.changed, again.pushed) == (0, 0)
    assert len(world.ffn.writes) == 1


async def test_a_nudge_is_taken_once(world: World) -> None:
    await cycle(world)
    world.ctx.nudges.request("shop", "orders")
    world.ctx.nudges.request("shop", "orders")
    await cycle(world)
    assert not world.ctx.nudges.pending("shop", "orders")
    world.clock.advance(10)
    now = world.clock.now()
    world.order(8, created_at=now, updated_at=now)
    await cycle(world)  # not nudged again: waits for the lag like any poll
    assert world.ffn.outbounds == {}


async def test_the_delay_from_first_request_to_the_run_is_reported() -> None:
    clock = FakeClock(datetime(2026, 5, 4, 10, 0, tzinfo=UTC))
    seen: list[tuple[str, str, float]] = []
    nudges = Nudges(clock=clock, on_taken=lambda channel, flow, delay: seen.append((channel, flow, delay)))
    nudges.request("shop", "orders")
    clock.advance(0.25)
    nudges.request("shop", "orders")  # the burst's first request counts
    clock.advance(0.25)
    assert await nudges.take("shop", "orders")
    assert not await nudges.take("shop", "orders")
    assert not await nudges.take("shop", "products")
    assert seen == [("shop", "orders", 0.5)]
    assert clock.slept == []  # the first nudged read of a flow never waits


class Budget:
    def __init__(self, gap_s: float) -> None:
        self.gap_s = gap_s

    def read_gap_s(self) -> float:
        return self.gap_s


async def test_a_burst_of_nudges_is_paced_into_few_reads() -> None:
    # 500 deliveries over 2.5 s. A delivery starts a run (the scheduler runs one at a time and coalesces
    # the triggers of a busy run into one more); the run waits out the gap since the previous nudged read
    # and takes every delivery that arrived meanwhile.
    clock = FakeClock(datetime(2026, 5, 4, 10, 0, tzinfo=UTC))
    nudges = Nudges(clock=clock, min_gap_s=0.5)
    arrivals = [clock.monotonic() + n * 0.005 for n in range(500)]

    def deliver_until(moment: float) -> None:
        while arrivals and arrivals[0] <= moment:
            clock.advance(max(0.0, arrivals.pop(0) - clock.monotonic()))
            nudges.request("shop", "orders")

    reads = 0
    while arrivals:
        deliver_until(arrivals[0])  # a delivery starts a run
        ready = clock.monotonic() + nudges.wait_s("shop", "orders")
        deliver_until(ready)  # these arrive while the run waits
        clock.advance(max(0.0, ready - clock.monotonic()))
        reads += await nudges.take("shop", "orders")
    assert reads == 6  # at 0, 0.5, 1.0, 1.5, 2.0 and 2.5 s instead of one per delivery
    assert not nudges.pending("shop", "orders")


async def test_the_channel_budget_lengthens_the_gap() -> None:
    clock = FakeClock(datetime(2026, 5, 4, 10, 0, tzinfo=UTC))
    budget = Budget(0.0)
    nudges = Nudges(clock=clock, min_gap_s=0.5, pacing=lambda channel: budget if channel == "shop" else None)
    nudges.request("shop", "orders")
    assert await nudges.take("shop", "orders")
    budget.gap_s = 2.0  # the shop's bucket ran low: triggered reads may spend less
    nudges.request("shop", "orders")
    clock.advance(0.2)
    assert await nudges.take("shop", "orders")
    assert clock.slept == [pytest.approx(1.8)]
    nudges.request("other", "orders")  # another channel, no budget: the minimum gap only
    assert await nudges.take("other", "orders")
    nudges.request("other", "orders")
    assert await nudges.take("other", "orders")
    assert clock.slept == [pytest.approx(1.8), 0.5]
    budget.gap_s = 600.0  # a drained bucket after a big page: the wait is capped, the poll comes anyway
    nudges.request("shop", "orders")
    assert await nudges.take("shop", "orders")
    assert clock.slept[-1] == pytest.approx(MAX_GAP_S - 0.5)  # 0.5 s passed on the other channel


def test_fresh_window_covers_now_in_whole_seconds_from_the_cursor() -> None:
    position = datetime(2026, 5, 4, 10, 0, 0, tzinfo=UTC)
    now = datetime(2026, 5, 4, 10, 0, 5, 400_000, tzinfo=UTC)
    window = fresh_window(position, now)
    assert window.start == position - timedelta(seconds=1)
    assert window.end == datetime(2026, 5, 4, 10, 0, 6, tzinfo=UTC)


async def test_a_nudged_run_reads_once_from_the_cursor_up_to_now(world: World) -> None:
    await cycle(world)
    world.clock.advance(30)
    reads: list[Window] = []
    read = world.shop.changed_orders

    def spy(window: Window) -> AsyncIterator[ShopOrder | UnreadableOrder]:
        reads.append(window)
        return read(window)

    world.shop.changed_orders = spy  # type: ignore[method-assign]
    world.ctx.nudges.request("shop", "orders")
    counts = await cycle(world)
    (window,) = reads  # one query, not a poll's window plus one past the lag (Shopify pays per query)
    assert window.end > world.clock.now()
    assert counts.lag_s == 5.0


async def test_nudged_runs_in_a_burst_read_only_what_is_new_and_the_poll_still_catches_late_commits(
    world: World,
) -> None:
    await cycle(world)
    world.clock.advance(30)
    reads: list[Window] = []
    read = world.shop.changed_orders

    def spy(window: Window) -> AsyncIterator[ShopOrder | UnreadableOrder]:
        reads.append(window)
        return read(window)

    world.shop.changed_orders = spy  # type: ignore[method-assign]
    world.ctx.nudges.request("shop", "orders")
    await cycle(world)
    first_read_end = reads[-1].end

    world.clock.advance(1)
    now = world.clock.now()
    # Committed late: stamped 2 s ago, so inside what the last nudged read already covered.
    world.order(9, created_at=now - timedelta(seconds=2), updated_at=now - timedelta(seconds=2))
    world.ctx.nudges.request("shop", "orders")
    reads.clear()
    await cycle(world)
    due, fresh = reads  # the window crossing the lag since the last run, then only what is new
    assert due.end == (now - timedelta(seconds=5)).replace(microsecond=0)
    assert fresh.start == first_read_end - timedelta(seconds=1) and fresh.end > now
    assert world.ffn.outbounds == {}

    world.clock.advance(10)  # the next run that moves the cursor over it reads it
    await cycle(world)
    assert list(world.ffn.outbounds) == [outbound_id("MERC", "shop", "9")]


async def test_a_window_triggered_reads_covered_is_read_again_only_for_what_is_missing(world: World) -> None:
    shop = ListingShop()
    world.ctx.channels["shop"] = world.shop = shop
    await cycle(world)
    world.clock.advance(30)
    now = world.clock.now()
    world.order(7, created_at=now - timedelta(seconds=4), updated_at=now - timedelta(seconds=4))
    world.ctx.nudges.request("shop", "orders")
    await cycle(world)  # the triggered read exports 7 at once
    pages_before = shop.pages_read
    # Committed late inside what the triggered read covered: the search did not show it then.
    world.order(8, created_at=now - timedelta(seconds=3), updated_at=now - timedelta(seconds=3))

    world.clock.advance(3)  # the cursor's next window (up to now - lag) lies below the triggered read's end
    counts = await cycle(world)

    assert shop.full_reads == ["8"]  # 7 is stored at the listed version: not read again
    assert shop.pages_read == pages_before  # the covered window was listed, not read in full
    assert counts.pushed == 1
    assert sorted(world.ffn.outbounds) == sorted(outbound_id("MERC", "shop", n) for n in ("7", "8"))


async def test_the_second_the_last_triggered_read_ended_in_is_listed_not_read_again(world: World) -> None:
    shop = ListingShop()
    world.ctx.channels["shop"] = world.shop = shop
    await cycle(world)
    world.clock.advance(30.4)
    now = world.clock.now()
    world.order(7, created_at=now - timedelta(seconds=0.2), updated_at=now - timedelta(seconds=0.2))
    world.ctx.nudges.request("shop", "orders")
    await cycle(world)  # reads up to the end of now's second
    assert world.ffn.outbounds.keys() == {outbound_id("MERC", "shop", "7")}
    # Stamped in the same second as 7, committed after that read: only the next triggered read sees it.
    world.order(8, created_at=now + timedelta(seconds=0.3), updated_at=now + timedelta(seconds=0.3))
    world.clock.advance(1)
    world.ctx.nudges.request("shop", "orders")
    pages_before = shop.pages_read

    await cycle(world)

    assert shop.full_reads == ["8"]  # 7 is listed in that second and stored: not read again
    assert shop.pages_read == pages_before + 1  # and one read of what is new since
    assert outbound_id("MERC", "shop", "8") in world.ffn.outbounds


class LaggingSearch:
    """The fake shop behind a search index: an order shows in delta reads ``lag_s`` after its creation."""

    def __init__(self, world: World, lag_s: float) -> None:
        self.inner, self.clock, self.lag_s = world.shop, world.clock, lag_s

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def search_recheck_s(self) -> float:
        return 2.0

    async def changed_orders(self, window: Window) -> AsyncIterator[ShopOrder | UnreadableOrder]:
        indexed_until = self.clock.now() - timedelta(seconds=self.lag_s)
        async for order in self.inner.changed_orders(window):
            if order.updated_at is None or order.updated_at <= indexed_until:
                yield order


@pytest.mark.parametrize("announced", [True, False])
async def test_a_nudged_read_that_missed_an_order_announced_as_new_looks_once_more(
    world: World, announced: bool
) -> None:
    shop = LaggingSearch(world, lag_s=1.5)
    world.ctx.channels["shop"] = shop  # type: ignore[assignment]
    world.ctx.nudges.search_lag = lambda name: shop if name == "shop" else None
    await cycle(world)
    world.clock.advance(30)
    now = world.clock.now()
    world.order(7, created_at=now, updated_at=now)
    world.clock.slept.clear()

    world.ctx.nudges.request("shop", "orders", new_record=announced)
    counts = await cycle(world)

    if announced:  # orders/create: the search missed it, the second look 2 s later found it
        assert world.clock.slept == [2.0]
        assert list(world.ffn.outbounds) == [outbound_id("MERC", "shop", "7")] and counts.pushed == 1
    else:  # e.g. orders/updated of an order already stored: no second look
        assert world.clock.slept == [] and world.ffn.outbounds == {}
    assert await cursor(world) <= now - timedelta(seconds=5)  # the second look moved no cursor either


async def test_a_delivery_during_the_recheck_wait_ends_it_at_once() -> None:
    # Waiting out the whole recheck would hold the flow: every order delivered meanwhile would wait too.
    class StoppedClock(FakeClock):
        async def sleep(self, seconds: float) -> None:
            await asyncio.Event().wait()  # time stands still: only a request can end the wait

    clock = StoppedClock()
    nudges = Nudges(clock=clock)
    waiting = asyncio.create_task(nudges.wait_recheck("shop", "orders", 2.0, clock))
    await asyncio.sleep(0)
    nudges.request("shop", "products")  # another flow's delivery is not this read's
    nudges.request("other", "orders")
    await asyncio.sleep(0)
    assert not waiting.done()

    nudges.request("shop", "orders")
    await asyncio.wait_for(waiting, timeout=1)
    assert await nudges.take("shop", "orders")  # the delivery still gets its own read


def _listing_spy(shop: ListingShop) -> list[str]:
    """Every order id ``shop`` lists (``order_versions``), in order."""
    listed: list[str] = []
    versions = shop.order_versions

    async def spy(window: Window) -> AsyncIterator[tuple[str, datetime]]:
        async for version in versions(window):
            listed.append(version[0])
            yield version

    shop.order_versions = spy  # type: ignore[method-assign]
    return listed


def _window_spy(shop: ListingShop, *reads: str) -> list[Window]:
    """Every window ``shop`` is asked to read through ``reads`` (method names), in order, into one list."""
    windows: list[Window] = []
    for name in reads:
        read = getattr(shop, name)

        def spy(window: Window, read: Any = read) -> Any:
            windows.append(window)
            return read(window)

        setattr(shop, name, spy)
    return windows


async def test_a_trickle_of_triggered_reads_lists_each_order_a_few_times_not_once_per_run(
    world: World,
) -> None:
    # Every listed order is stored already, so the pull leaves the cursor where it was (an empty window);
    # the windows below the lag must still start where the last listing ended, not at that cursor.
    shop = ListingShop()
    world.ctx.channels["shop"] = world.shop = shop
    await cycle(world)
    world.clock.advance(30)
    listed = _listing_spy(shop)
    for n in range(40):  # one order a second, each announced by its webhook
        now = world.clock.now()
        world.order(100 + n, created_at=now, updated_at=now)
        world.ctx.nudges.request("shop", "orders", new_record=True)
        await cycle(world)
        world.clock.advance(0.5)
    assert len(world.ffn.outbounds) == 40
    assert shop.full_reads == []  # each read once, by the triggered read that saw it first
    times = Counter(listed)
    assert max(times.values()) <= 3, times  # once in its second, once below the lag (+ the cursor's second)
    assert len(listed) <= 3 * 40


async def test_an_order_stamped_inside_a_covered_range_but_seen_late_is_still_read(world: World) -> None:
    # The listing position moves only over windows that were due (below the lag) when listed: an order
    # committed (or indexed) after the triggered read that covered its timestamp is found by that listing.
    shop = ListingShop()
    world.ctx.channels["shop"] = world.shop = shop
    await cycle(world)
    world.clock.advance(30)
    for n in range(10):
        now = world.clock.now()
        world.order(100 + n, created_at=now, updated_at=now)
        world.ctx.nudges.request("shop", "orders")
        await cycle(world)
        world.clock.advance(1)
    now = world.clock.now()
    # Stamped 3 s ago, inside what the triggered reads covered, visible only now.
    world.order(7, created_at=now - timedelta(seconds=3), updated_at=now - timedelta(seconds=3))
    for _ in range(3):  # more triggered reads: they read past the lag only
        world.ctx.nudges.request("shop", "orders")
        await cycle(world)
        world.clock.advance(1)
    assert outbound_id("MERC", "shop", "7") not in world.ffn.outbounds
    world.clock.advance(3)
    await cycle(world)  # the poll: the listing of the covered window below the lag finds it
    assert outbound_id("MERC", "shop", "7") in world.ffn.outbounds
    assert shop.full_reads == ["7"]


async def test_triggered_runs_list_the_window_below_the_lag_once_it_is_worth_a_query(world: World) -> None:
    shop = ListingShop()
    world.ctx.channels["shop"] = world.shop = shop
    await cycle(world)
    world.clock.advance(30)
    listings = _window_spy(shop, "order_versions")
    for n in range(60):  # an order a second, each announced by its webhook
        now = world.clock.now()
        world.order(100 + n, created_at=now, updated_at=now)
        world.ctx.nudges.request("shop", "orders", new_record=True)
        await cycle(world)
        world.clock.advance(1)
    below_lag = [w for w in listings if (w.end - w.start).total_seconds() > 1]
    assert 1 <= len(below_lag) <= 3  # about every 30 s, not every run
    assert all((w.end - w.start).total_seconds() >= LIST_COVERED_AFTER_S for w in below_lag)
    assert len(world.ffn.outbounds) == 60


async def _trickle(world: World, orders_count: int, *, every_s: float = 2.0) -> None:
    for n in range(orders_count):  # an order every ``every_s``, each announced by its webhook
        now = world.clock.now()
        world.order(100 + n, created_at=now, updated_at=now)
        world.ctx.nudges.request("shop", "orders")
        await cycle(world)
        world.clock.advance(every_s)


async def test_a_long_trickle_keeps_the_stored_cursor_within_one_overlap_and_it_still_moves(
    world: World,
) -> None:
    """Listings that found everything stored left the cursor in place for up to 10 min while the next
    windows started where they ended: once that was more than an overlap ahead, every later window read as
    if the cursor had been rewound (an INFO line per cycle) and the stored cursor froze."""
    shop = ListingShop()
    world.ctx.channels["shop"] = world.shop = shop
    await cycle(world)
    world.clock.advance(30)
    await _trickle(world, 40)  # 80 s: more than the overlap (60 s)
    stored = await cursor(world)
    overlap = timedelta(seconds=world.ctx.settings.channel("shop").cursor.overlap_s)
    listed = read_position(world.ctx, "shop", "orders", stored)
    assert listed is not None and listed - stored <= overlap
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="INFO")
    try:
        world.clock.advance(20)
        now = world.clock.now()
        world.order(500, created_at=now - timedelta(seconds=10), updated_at=now - timedelta(seconds=10))
        await cycle(world)  # a poll: the order below the lag, not announced
    finally:
        logger.remove(sink)
    assert outbound_id("MERC", "shop", "500") in world.ffn.outbounds
    assert not [line for line in lines if "moved back" in line]
    assert await cursor(world) == (world.clock.now() - timedelta(seconds=5)).replace(microsecond=0)


async def test_a_resync_to_a_point_the_listings_had_passed_is_read_again(world: World) -> None:
    shop = ListingShop()
    world.ctx.channels["shop"] = world.shop = shop
    await cycle(world)
    world.clock.advance(30)
    await _trickle(world, 20)
    stored = await cursor(world)
    listed = read_position(world.ctx, "shop", "orders", stored)
    assert listed is not None and listed > stored + timedelta(seconds=10)
    since = stored + (listed - stored) / 2
    await resync(world.pool, merchant="acme", since=since, flow="orders", channel="shop")
    MerchantRuntime(contexts=[world.ctx]).forget_cursors("acme")  # on the resync's notification
    windows = _window_spy(shop, "order_versions", "changed_orders")
    world.clock.advance(10)
    await cycle(world)
    assert windows and min(w.start for w in windows) <= since
