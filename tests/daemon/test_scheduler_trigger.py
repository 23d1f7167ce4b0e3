"""``SyncScheduler.trigger``: a webhook's "run now", coalesced and never concurrent with the job itself."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest

from daemon.jobrunner import BackoffPolicy, JobSpec
from daemon.scheduler import SyncScheduler

NAME = "acme/shop/orders"


class Gate:
    """A job that counts its runs and its peak concurrency, and can be held inside a run."""

    def __init__(self) -> None:
        self.runs = 0
        self.active = 0
        self.peak = 0
        self.open = asyncio.Event()
        self.open.set()
        self.failing = False

    async def __call__(self) -> None:
        self.runs += 1
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            await self.open.wait()
            if self.failing:
                raise RuntimeError("shop down")
        finally:
            self.active -= 1


async def settle(predicate: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not predicate():  # noqa: ASYNC110 - scheduler state has no event to wait on
            await asyncio.sleep(0.001)


@pytest.fixture
async def scheduler(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[SyncScheduler]:
    # The first scheduled run goes far out, so every run in these tests is a triggered one.
    monkeypatch.setattr(
        "daemon.scheduler.first_run_at",
        lambda name, interval_s, now: now + timedelta(seconds=min(10_000.0, interval_s * 0.1)),
    )
    scheduler = SyncScheduler(policy=BackoffPolicy(threshold=1))
    yield scheduler
    await scheduler.stop(grace_s=1)


def start(scheduler: SyncScheduler, job: Gate, interval: float = 3600.0) -> None:
    scheduler.start([JobSpec("acme", "shop", "orders", interval, job)])


async def test_a_burst_during_a_run_makes_exactly_one_more_run(scheduler: SyncScheduler) -> None:
    job = Gate()
    start(scheduler, job)
    job.open.clear()
    assert scheduler.trigger(NAME)
    await settle(lambda: job.runs == 1)

    assert all(scheduler.trigger(NAME) for _ in range(500))
    job.open.set()
    await settle(lambda: not scheduler.runners[NAME].busy)

    assert (job.runs, job.peak) == (2, 1)


async def test_a_burst_while_idle_runs_once(scheduler: SyncScheduler) -> None:
    job = Gate()
    start(scheduler, job)
    for _ in range(500):
        scheduler.trigger(NAME)
    await settle(lambda: not scheduler.runners[NAME].busy)
    assert job.runs == 1


async def test_interval_runs_and_triggers_never_overlap(scheduler: SyncScheduler) -> None:
    job = Gate()
    start(scheduler, job, interval=0.01)
    job.open.clear()
    scheduler.trigger(NAME)
    await settle(lambda: job.runs == 1)
    # Several interval ticks pass while the triggered run is held.
    await asyncio.sleep(0.05)
    assert job.runs == 1
    job.open.set()
    await settle(lambda: job.runs >= 3)
    assert job.peak == 1


async def test_unknown_job_and_stopped_scheduler_refuse(scheduler: SyncScheduler) -> None:
    job = Gate()
    start(scheduler, job)
    assert not scheduler.trigger("acme/other/orders")
    await scheduler.stop(grace_s=1)
    assert not scheduler.trigger(NAME)
    assert job.runs == 0


async def test_a_backing_off_job_stays_backed_off(scheduler: SyncScheduler) -> None:
    job = Gate()
    job.failing = True
    start(scheduler, job)
    scheduler.trigger(NAME)
    await settle(lambda: job.runs == 1 and not scheduler.runners[NAME].busy)
    assert scheduler.runners[NAME].backoff_until is not None
    for _ in range(10):
        scheduler.trigger(NAME)
    await settle(lambda: not scheduler.runners[NAME].busy)
    assert job.runs == 1
