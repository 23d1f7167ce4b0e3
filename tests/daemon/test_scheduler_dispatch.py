"""When runs are due: one heap of fire times, dispatched by one APScheduler tick.

APScheduler 3.x used to time each job itself (a wake-up, a job-store walk and timezone arithmetic per due
run: ~6 % of an idle fleet's CPU). Its job store now holds the tick alone, whatever the fleet's size, and
the jobs keep their grid, jitter, coalescing after a stall and backoff.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from daemon.clock import FakeClock
from daemon.jobrunner import BackoffPolicy, JobSpec
from daemon.scheduler import MAX_JITTER_S, TICK_JOB, SyncScheduler, first_run_at


class Counted:
    def __init__(self, failing: bool = False) -> None:
        self.runs = 0
        self.failing = failing

    async def __call__(self) -> None:
        self.runs += 1
        if self.failing:
            raise RuntimeError("upstream down")


def spec(run: Counted, merchant: str = "acme", flow: str = "orders", interval: float = 60.0) -> JobSpec:
    return JobSpec(merchant=merchant, channel="shop", flow=flow, interval_s=interval, run=run)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_apscheduler_holds_one_tick_job_whatever_the_number_of_jobs() -> None:
    scheduler = SyncScheduler(clock=FakeClock())
    scheduler.start(
        [spec(Counted(), merchant=f"m{n}", flow=f) for n in range(300) for f in ("orders", "stock")]
    )
    try:
        assert [job.id for job in scheduler._scheduler.get_jobs()] == [TICK_JOB]
        assert len(scheduler.runners) == 600
    finally:
        await scheduler.stop(grace_s=1)


async def test_due_runs_start_on_the_grid_and_the_next_fire_time_is_jittered_within_a_tenth() -> None:
    clock = FakeClock()
    job = Counted()
    scheduler = SyncScheduler(clock=clock)
    scheduler.start([spec(job, interval=60.0)])
    scheduler._scheduler.pause()  # the test says when the tick comes
    name = "acme/shop/orders"
    try:
        first = first_run_at(name, 60.0, clock.now())
        assert scheduler.next_run(name) == first  # the first run exactly on the job's grid
        clock.advance((first - clock.now()).total_seconds() - 0.01)
        scheduler._tick()
        await settle()
        assert job.runs == 0  # not yet due
        clock.advance(0.01)
        scheduler._tick()
        await settle()
        assert job.runs == 1
        following = scheduler.next_run(name)
        assert following is not None
        assert first + timedelta(seconds=60) <= following <= first + timedelta(seconds=60 + MAX_JITTER_S)
        scheduler._tick()
        await settle()
        assert job.runs == 1  # one run per fire time
    finally:
        await scheduler.stop(grace_s=1)


async def test_after_a_stall_one_run_and_the_next_fire_time_back_on_the_grid() -> None:
    clock = FakeClock()
    job = Counted()
    scheduler = SyncScheduler(clock=clock)
    scheduler.start([spec(job, interval=60.0)])
    scheduler._scheduler.pause()
    name = "acme/shop/orders"
    try:
        first = first_run_at(name, 60.0, clock.now())
        clock.advance((first - clock.now()).total_seconds() + 10 * 60 + 30)  # ten intervals missed
        scheduler._tick()
        await settle()
        scheduler._tick()
        await settle()
        assert job.runs == 1
        following = scheduler.next_run(name)
        assert following is not None
        on_grid = first + timedelta(seconds=11 * 60)  # the first grid point after now
        assert on_grid <= following <= on_grid + timedelta(seconds=MAX_JITTER_S)
    finally:
        await scheduler.stop(grace_s=1)


async def test_a_backoff_and_a_wake_replace_the_planned_run() -> None:
    clock = FakeClock()
    job = Counted(failing=True)
    scheduler = SyncScheduler(clock=clock, policy=BackoffPolicy(threshold=1, max_delay_s=3600))
    scheduler.start([spec(job, interval=60.0)])
    scheduler._scheduler.pause()
    name = "acme/shop/orders"
    runner = scheduler.runners[name]
    try:
        first = first_run_at(name, 60.0, clock.now())
        clock.advance((first - clock.now()).total_seconds())
        scheduler._tick()
        await settle()
        assert job.runs == 1 and runner.backoff_until == clock.now() + timedelta(seconds=120)
        assert scheduler.next_run(name) == runner.backoff_until
        clock.advance(61)  # the grid's next fire time: the backoff replaced it
        scheduler._tick()
        await settle()
        assert job.runs == 1
        assert scheduler.wake() == [name]
        scheduler._tick()
        await settle()
        assert job.runs == 2
    finally:
        await scheduler.stop(grace_s=1)


async def test_triggers_of_a_backing_off_job_start_no_run_and_plan_nothing() -> None:
    """A webhook burst on a backing-off orders job: each trigger used to start a task that returned at once
    and pushed one more heap entry (1,000 triggers: 1,002 entries)."""
    job = Counted(failing=True)
    scheduler = SyncScheduler(clock=FakeClock(), policy=BackoffPolicy(threshold=1))
    scheduler.start([spec(job)])
    scheduler._scheduler.pause()
    name = "acme/shop/orders"
    try:
        assert scheduler.trigger(name)
        await settle()
        assert scheduler.runners[name].backoff_until is not None
        size = len(scheduler._heap)
        for _ in range(1000):
            assert scheduler.trigger(name)  # it will run: when its backoff ends
            await settle()
        assert job.runs == 1
        assert len(scheduler._heap) == size
    finally:
        await scheduler.stop(grace_s=1)


class Lateness:
    def __init__(self) -> None:
        self.seen: list[float] = []

    def run_started(self, spec: JobSpec, lateness_s: float) -> None:
        self.seen.append(lateness_s)

    def run_skipped(self, spec: JobSpec) -> None:
        return None


async def test_a_run_after_a_stall_is_late_to_the_latest_fire_time_it_missed() -> None:
    """As apscheduler's coalescing reported it: a 10-minute stall is not ten minutes late per 60 s job."""
    clock = FakeClock()
    observer = Lateness()
    scheduler = SyncScheduler(clock=clock, observer=observer)
    scheduler.start([spec(Counted())])
    scheduler._scheduler.pause()
    name = "acme/shop/orders"
    try:
        first = first_run_at(name, 60.0, clock.now())
        clock.advance((first - clock.now()).total_seconds() + 10 * 60 + 30)
        scheduler._tick()
        await settle()
        assert len(observer.seen) == 1 and 0 <= observer.seen[0] <= 60.0
    finally:
        await scheduler.stop(grace_s=1)
