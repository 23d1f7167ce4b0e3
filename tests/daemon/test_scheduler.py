from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from loguru import logger

from daemon.clock import FakeClock
from daemon.jobrunner import BackoffPolicy, JobRunner, JobSpec
from daemon.scheduler import SyncScheduler, first_run_at, run_all_once
from daemon.secrets import register


def spec(
    run: Callable[[], Any],
    *,
    flow: str = "orders",
    channel: str | None = "shop",
    interval: float = 60.0,
    merchant: str = "acme",
) -> JobSpec:
    return JobSpec(merchant=merchant, channel=channel, flow=flow, interval_s=interval, run=run)


class Flaky:
    """A job that fails while ``failing`` is set and counts its runs."""

    def __init__(self, failing: bool = True, message: str = "upstream down") -> None:
        self.failing = failing
        self.message = message
        self.runs = 0

    async def __call__(self) -> None:
        self.runs += 1
        if self.failing:
            raise RuntimeError(self.message)


@pytest.fixture
def records() -> Iterator[list[Any]]:
    captured: list[Any] = []

    def capture(message: Any) -> None:
        # Without keys starting with "_": formatter state another sink of the process put on the record.
        record = dict(message.record)
        record["extra"] = {k: v for k, v in record["extra"].items() if not k.startswith("_")}
        captured.append(record)

    handler = logger.add(capture, level="DEBUG", format="{message}")
    yield captured
    logger.remove(handler)


async def wait_until(predicate: Callable[[], bool], limit_s: float = 5.0) -> None:
    async with asyncio.timeout(limit_s):
        while not predicate():  # noqa: ASYNC110 - polls scheduler state that has no event to wait on
            await asyncio.sleep(0.005)


def test_backoff_starts_at_threshold_grows_and_is_capped() -> None:
    policy = BackoffPolicy(threshold=3, factor=2.0, max_delay_s=900.0)
    delays = [policy.delay_s(n, 60.0) for n in range(1, 8)]
    assert delays == [None, None, 120.0, 240.0, 480.0, 900.0, 900.0]
    # A job slower than the cap is never scheduled more often than its own interval.
    assert BackoffPolicy(threshold=1, max_delay_s=10.0).delay_s(5, 3600.0) == 3600.0


async def test_failures_back_off_exponentially_and_success_resets(records: list[Any]) -> None:
    clock = FakeClock()
    job = Flaky()
    runner = JobRunner(
        spec(job), policy=BackoffPolicy(threshold=2, factor=2.0, max_delay_s=1000), clock=clock
    )

    assert await runner() is False
    assert runner.backoff_until is None  # below the threshold: the normal interval applies
    assert await runner() is False
    assert runner.backoff_until == clock.now() + timedelta(seconds=120)

    clock.advance(60)
    assert await runner() is False and job.runs == 2  # still backing off: the flow is not called at all
    clock.advance(60)
    assert await runner() is False and job.runs == 3
    first_gap = runner.backoff_until - clock.now()  # type: ignore[operator]
    assert first_gap.total_seconds() == 240

    clock.advance(240)
    job.failing = False
    assert await runner() is True
    health = runner.health()
    assert health.consecutive_failures == 0
    assert health.backoff_until is None
    assert health.last_success == clock.now()
    assert (health.runs_ok, health.runs_failed) == (1, 3)
    assert health.last_error == "RuntimeError: upstream down"
    assert any("recovered after 3 consecutive failures" in r["message"] for r in records)


async def test_each_failure_is_logged_once_with_flow_context_and_no_secret(records: list[Any]) -> None:
    secret = "tok-5f1c2e9a7b"
    register(secret)
    runner = JobRunner(spec(Flaky(message=f"401 for token {secret}"), flow="stock"), clock=FakeClock())

    await runner()

    errors = [r for r in records if r["level"].name == "ERROR"]
    assert len(errors) == 1
    assert errors[0]["extra"] == {"merchant": "acme", "channel": "shop", "flow": "stock"}
    assert secret not in errors[0]["message"]
    assert runner.last_error is not None and secret not in runner.last_error


async def test_context_is_bound_inside_the_job(records: list[Any]) -> None:
    async def job() -> None:
        logger.info("pulled 3 orders")

    await JobRunner(spec(job, channel=None, flow="shipments")).__call__()

    line = next(r for r in records if r["message"] == "pulled 3 orders")
    assert line["extra"] == {"merchant": "acme", "channel": None, "flow": "shipments"}


async def test_cancellation_is_not_counted_as_a_failure() -> None:
    async def hangs() -> None:
        await asyncio.sleep(3600)

    runner = JobRunner(spec(hangs))
    task = asyncio.create_task(runner())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert runner.runs_failed == 0 and not runner.running


async def test_scheduled_jobs_run_soon_and_repeat() -> None:
    job = Flaky(failing=False)
    scheduler = SyncScheduler()
    scheduler.start([spec(job, interval=0.05)])
    try:
        await wait_until(lambda: job.runs >= 3)
    finally:
        await scheduler.stop(grace_s=1)
    assert scheduler.totals[0] >= 3
    assert scheduler.health()[0].name == "acme/shop/orders"


async def test_a_slow_job_never_runs_twice_at_once() -> None:
    active = 0
    peak = 0
    finished = 0

    async def slow() -> None:
        nonlocal active, peak, finished
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.08)  # several intervals long
        active -= 1
        finished += 1

    scheduler = SyncScheduler()
    scheduler.start([spec(slow, interval=0.02)])
    try:
        await wait_until(lambda: finished >= 3)
    finally:
        await scheduler.stop(grace_s=1)
    assert peak == 1


async def test_backoff_moves_the_next_scheduled_run() -> None:
    scheduler = SyncScheduler(policy=BackoffPolicy(threshold=1, factor=2.0, max_delay_s=3600))
    job = Flaky()
    scheduler.start([spec(job, interval=0.05)])
    try:
        await wait_until(lambda: job.runs >= 1 and not scheduler.runners["acme/shop/orders"].running)
        await asyncio.sleep(0)
        runner = scheduler.runners["acme/shop/orders"]
        next_run = scheduler.next_run("acme/shop/orders")
        assert runner.backoff_until is not None and next_run is not None
        assert next_run >= runner.backoff_until
    finally:
        await scheduler.stop(grace_s=1)
    assert job.runs == 1  # the next attempt is 0.1 s away, backed off from the 0.05 s interval


async def test_stop_waits_for_running_jobs_then_cancels_what_overruns() -> None:
    release = asyncio.Event()
    quick_done = asyncio.Event()

    async def quick() -> None:
        await release.wait()
        quick_done.set()

    async def stuck() -> None:
        await asyncio.sleep(3600)

    scheduler = SyncScheduler()
    scheduler.start([spec(quick, flow="orders", interval=1), spec(stuck, flow="stock", interval=1)])
    await wait_until(lambda: all(r.running for r in scheduler.runners.values()))
    asyncio.get_running_loop().call_later(0.05, release.set)  # finishes within the grace period

    cancelled = await scheduler.stop(grace_s=0.5)

    assert quick_done.is_set()
    assert cancelled == 1
    assert not any(r.running for r in scheduler.runners.values())


async def test_replace_jobs_keeps_the_record_of_surviving_jobs() -> None:
    kept = Flaky(failing=False)
    dropped = Flaky(failing=False)
    scheduler = SyncScheduler()
    scheduler.start([spec(kept, flow="orders", interval=1), spec(dropped, flow="stock", interval=1)])
    try:
        await wait_until(lambda: kept.runs >= 1 and dropped.runs >= 1)
        await wait_until(lambda: not any(r.running for r in scheduler.runners.values()))
        before = scheduler.runners["acme/shop/orders"].last_success
        added = Flaky(failing=False)
        await scheduler.replace_jobs(
            [spec(kept, flow="orders", interval=1), spec(added, flow="products", interval=1)], grace_s=1
        )
        assert set(scheduler.runners) == {"acme/shop/orders", "acme/shop/products"}
        assert scheduler.runners["acme/shop/orders"].last_success == before
        await wait_until(lambda: added.runs >= 1)
        assert scheduler.totals[0] >= 3  # the dropped job's run still counts
    finally:
        await scheduler.stop(grace_s=1)


async def test_run_all_once_runs_every_job_once_and_reports_failure() -> None:
    order: list[str] = []

    def recording(name: str, fail: bool = False) -> Callable[[], Any]:
        async def run() -> None:
            order.append(f"start {name}")
            await asyncio.sleep(0.01)
            order.append(f"end {name}")
            if fail:
                raise RuntimeError("boom")

        return run

    jobs = [
        spec(recording("a/orders"), flow="orders", channel="a"),
        spec(recording("a/stock", fail=True), flow="stock", channel="a"),
        spec(recording("a/products"), flow="products", channel="a"),
        spec(recording("b/orders"), flow="orders", channel="b"),
    ]

    assert await run_all_once(jobs) is False
    assert sorted(order) == sorted(
        f"{p} {n}" for n in ("a/orders", "a/stock", "a/products", "b/orders") for p in ("start", "end")
    )
    lane_a = [e for e in order if " a/" in e]
    assert lane_a == [
        "start a/orders",
        "end a/orders",
        "start a/stock",
        "end a/stock",
        "start a/products",
        "end a/products",
    ]  # one channel: in order, one at a time


async def test_run_all_once_true_when_all_succeed_and_for_no_jobs() -> None:
    assert await run_all_once([spec(Flaky(failing=False)), spec(Flaky(failing=False), channel="b")])
    assert await run_all_once([])


async def test_first_runs_spread_over_the_interval_by_job_name() -> None:
    """No thundering herd at start: 300 merchants' jobs start at deterministic points of their interval."""

    async def nothing() -> None:
        return None

    start = FakeClock().now()
    jobs = [
        spec(nothing, merchant=f"m{n:03}", flow=flow, interval=interval)
        for n in range(300)
        for flow, interval in (("orders", 60.0), ("reconcile", 3600.0))
    ]
    scheduler = SyncScheduler(clock=FakeClock(start))
    scheduler.start(jobs)
    try:
        waits = {j.name: (scheduler.next_run(j.name) - start).total_seconds() for j in jobs}  # type: ignore[operator]
    finally:
        await scheduler.stop(1.0)

    for job in jobs:
        assert 0 <= waits[job.name] < job.interval_s
        assert waits[job.name] == pytest.approx(
            (first_run_at(job.name, job.interval_s, start) - start).total_seconds()
        )
    for flow, interval in (("orders", 60.0), ("reconcile", 3600.0)):
        tenths = [0] * 10
        for job in jobs:
            if job.flow == flow:
                tenths[int(waits[job.name] / interval * 10)] += 1
        assert max(tenths) <= 50, tenths  # 30 per tenth on average; once all landed within 2 s


def test_a_job_keeps_its_phase_across_restarts() -> None:
    start = FakeClock().now()
    first = first_run_at("acme/shop/orders", 60.0, start)
    for later_s in (1, 59, 61, 3600 * 7 + 13):
        again = first_run_at("acme/shop/orders", 60.0, start + timedelta(seconds=later_s))
        offset = (again - first).total_seconds()
        assert offset == pytest.approx(round(offset / 60) * 60)  # on the same grid
        assert timedelta(0) <= again - (start + timedelta(seconds=later_s)) < timedelta(seconds=60)
    assert first_run_at("acme/shop/stock", 60.0, start) != first  # another job, another phase
