"""When a shop's stock is compared (daemon.engine.stock_changes): after a change, not on every tick."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from daemon.clock import FakeClock
from daemon.engine.flow import CycleCounts
from daemon.engine.stock_changes import MIN_GAP_S, RETRY_S, WATCH_S, StockChanges
from daemon.store.stock import HANDOVER_S

SHOPS = ("a", "b")


class Jobs:
    """The scheduler's trigger: records which shop's stock job it was asked to run."""

    def __init__(self, answer: bool = True) -> None:
        self.runs: list[str] = []
        self.answer = answer

    def __call__(self, channel: str) -> bool:
        self.runs.append(channel)
        return self.answer

    def take(self) -> list[str]:
        runs, self.runs = self.runs, []
        return runs


async def settled(clock: FakeClock | None = None) -> tuple[StockChanges, Jobs, FakeClock]:
    """Both shops compared cleanly once (as after start), the trigger bound."""
    clock = clock or FakeClock()
    changes = StockChanges(SHOPS, clock)
    jobs = Jobs()
    changes.trigger = jobs
    for shop in SHOPS:
        assert await compare(changes, shop)
    return changes, jobs, clock


async def compare(changes: StockChanges, shop: str, *, clean: bool = True) -> bool:
    generation = await changes.begin(shop)
    if generation is None:
        return False
    changes.end(shop, generation, clean=clean)
    return True


def body(**counts: int) -> Callable[[CycleCounts], object]:
    async def run(c: CycleCounts) -> None:
        for name, value in counts.items():
            setattr(c, name, getattr(c, name) + value)

    return run


async def test_every_shop_is_compared_at_the_first_look_after_start_and_then_left_alone() -> None:
    clock = FakeClock()
    changes, jobs = StockChanges(SHOPS, clock), Jobs()
    changes.trigger = jobs
    changes.look()  # the merchant's first cycle end
    assert jobs.take() == ["a", "b"]
    for shop in SHOPS:
        assert await compare(changes, shop)
    for _ in range(240):  # four idle hours of cycle ends, a look every minute
        clock.advance(60)
        changes.look()
    assert jobs.take() == []


async def test_a_cycle_that_wrote_makes_every_shop_compare_and_one_that_only_read_again_does_not() -> None:
    changes, jobs, _ = await settled()
    await changes.watch(body(), CycleCounts())  # type: ignore[arg-type]
    await changes.watch(body(pulled=3, retried=1), CycleCounts())  # type: ignore[arg-type]
    assert jobs.take() == []  # the overlap read again, a record to retry later: nothing moved
    await changes.watch(body(pulled=1, changed=1), CycleCounts())  # type: ignore[arg-type]
    assert jobs.take() == ["a", "b"]
    assert changes.due("a") and changes.due("b")


async def test_a_failed_cycle_makes_the_shops_compare_its_writes_may_have_landed() -> None:
    changes, jobs, _ = await settled()

    async def fails(counts: CycleCounts) -> None:
        raise RuntimeError("FFN went away mid-page")

    with pytest.raises(RuntimeError):
        await changes.watch(fails, CycleCounts())
    assert jobs.take() == ["a", "b"]


async def test_a_triggered_run_compares_once_per_change_but_a_scheduled_run_always_compares() -> None:
    changes, jobs, clock = await settled()
    clock.advance(MIN_GAP_S)
    changes.announce()
    assert jobs.take() == ["a", "b"]
    assert await compare(changes, "a")  # the triggered run
    # The scheduler ran the job once more (a trigger arrived while it ran): nothing changed since.
    changes._triggered.add("a")
    assert not await compare(changes, "a")
    # The scheduled run of the job (every intervals.stock) is the safety comparison: it always compares.
    assert await compare(changes, "a")


async def test_a_triggered_comparison_waits_out_the_gap_after_the_previous_one() -> None:
    changes, _jobs, clock = await settled()
    clock.advance(2)
    changes.announce()
    slept = len(clock.slept)
    assert await compare(changes, "a")
    assert clock.slept[slept:] == [pytest.approx(MIN_GAP_S - 2)]


async def test_an_announcement_during_a_comparison_keeps_the_shop_due_for_the_next_run() -> None:
    changes, jobs, _clock = await settled()
    generation = await changes.begin("a")
    assert generation is not None
    changes.announce()  # an order stored while the comparison's query ran
    changes.end("a", generation, clean=True)
    assert changes.due("a")
    assert jobs.take() == ["a", "b"]


async def test_a_comparison_that_did_not_finish_cleanly_is_tried_again_after_retry_s() -> None:
    changes, jobs, clock = await settled()
    generation = await changes.begin("a")
    assert generation is not None
    changes.end("a", generation, clean=False)  # the shop refused a page
    clock.advance(RETRY_S - 1)
    changes.look()
    assert jobs.take() == []
    clock.advance(1)
    changes.look()
    assert jobs.take() == ["a"]
    changes.look()
    assert jobs.take() == []  # running: not asked again before another RETRY_S


async def test_an_export_is_looked_at_again_once_the_order_stops_reserving() -> None:
    changes, jobs, clock = await settled()
    clock.advance(MIN_GAP_S)  # the comparisons below wait for nothing
    await changes.watch(body(pushed=1), CycleCounts())  # type: ignore[arg-type]
    for shop in jobs.take():
        assert await compare(changes, shop)
    clock.advance(HANDOVER_S)
    changes.look()
    assert jobs.take() == []  # FFN's stock may still not show the outbound: the order reserves
    clock.advance(LAPSE_MARGIN_S)
    changes.look()
    assert jobs.take() == ["a", "b"]


LAPSE_MARGIN_S = 12  # HANDOVER_S + 1 s rounded up to the next 10 s step


async def test_a_long_cycle_s_progress_reaches_the_shops_before_it_ends() -> None:
    changes, jobs, clock = await settled()
    counts = CycleCounts()
    looked: list[list[str]] = []

    async def catch_up(c: CycleCounts) -> None:
        for _ in range(3):  # pages of a long catch-up, other jobs of the merchant ending meanwhile
            c.pulled += 250
            c.changed += 250
            clock.advance(WATCH_S)
            changes.look()
            looked.append(jobs.take())

    await changes.watch(catch_up, counts)
    assert looked == [["a", "b"]] * 3


async def test_without_a_trigger_the_shops_are_only_marked_due() -> None:
    changes = StockChanges(SHOPS, FakeClock())  # ``once``: every stock job runs in its pass anyway
    changes.announce()
    changes.look()
    assert changes.due("a") and changes.due("b")


async def test_a_failed_shop_is_not_triggered_again_before_retry_s_however_many_changes_come() -> None:
    """Orders stored every few seconds during a shop's short outage used to make its stock job fail every
    MIN_GAP_S, into a backoff; each failure waits RETRY_S, as the 60 s stock interval did."""
    changes, jobs, clock = await settled()
    clock.advance(MIN_GAP_S)
    changes.announce()
    assert jobs.take() == ["a", "b"]
    assert await compare(changes, "a", clean=False)  # the shop answered 503
    assert await compare(changes, "b")
    for _ in range(5):
        clock.advance(MIN_GAP_S)
        changes.announce()
        assert jobs.take() == ["b"]
        assert await compare(changes, "b")
    clock.advance(RETRY_S - 5 * MIN_GAP_S)
    changes.look()
    assert jobs.take() == ["a"]
    assert await compare(changes, "a")  # back: changes reach it at once again
    clock.advance(MIN_GAP_S)
    changes.announce()
    assert jobs.take() == ["a", "b"]


async def test_a_failed_shop_s_job_triggered_meanwhile_compares_nothing_and_comes_back_after_retry_s() -> (
    None
):
    changes, jobs, clock = await settled()
    clock.advance(MIN_GAP_S)
    changes.announce()
    jobs.take()
    generation = await changes.begin("a")
    assert generation is not None
    changes.announce()  # during the failing comparison: the job runs once more right after it
    assert await compare(changes, "b")
    changes.end("a", generation, clean=False)
    assert not await compare(changes, "a")  # that run: no comparison inside the retry wait
    jobs.take()
    clock.advance(RETRY_S)
    changes.look()
    assert jobs.take() == ["a"]


async def test_a_write_that_restarts_a_reservation_is_looked_at_again_once_it_lapses() -> None:
    """A skipped update (changed in the shop, nothing FFN carries) restarts the order's hand-over: the shop
    must compare again when it lapses, not only at the next safety run."""
    changes, jobs, clock = await settled()
    clock.advance(MIN_GAP_S)
    await changes.watch(body(skipped=1), CycleCounts())  # type: ignore[arg-type]
    for shop in jobs.take():
        assert await compare(changes, shop)
    clock.advance(HANDOVER_S + LAPSE_MARGIN_S)
    changes.look()
    assert jobs.take() == ["a", "b"]
