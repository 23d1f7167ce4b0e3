"""Runs due while their job is still running, and how late runs start.

A fleet of slow cycles used to write one apscheduler WARNING per skipped run ("maximum number of running
instances reached"); now the jobs count them and the process says so in one line (count by flow) at most
every ``SKIP_REPORT_S``, however many jobs skipped. Every scheduled
run reports its start minus its planned fire time (``ffn_sync_scheduler_lateness_seconds``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from loguru import logger

from daemon.clock import FakeClock
from daemon.jobrunner import SKIP_REPORT_S, JobSpec
from daemon.monitor import SchedulerMetrics, SyncMetrics
from daemon.scheduler import SyncScheduler

NAME = "acme/shop/orders"


class Recorded:
    def __init__(self) -> None:
        self.lateness: list[float] = []
        self.skipped: list[str] = []

    def run_started(self, spec: JobSpec, lateness_s: float) -> None:
        self.lateness.append(lateness_s)

    def run_skipped(self, spec: JobSpec) -> None:
        self.skipped.append(spec.name)


class Blocked:
    """A job that runs until released."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.runs = 0

    async def __call__(self) -> None:
        self.runs += 1
        await self.release.wait()


def spec(run: Callable[[], Any], interval: float) -> JobSpec:
    return JobSpec(merchant="acme", channel="shop", flow="orders", interval_s=interval, run=run)


@pytest.fixture
def warnings() -> Iterator[list[str]]:
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(m.record["message"]), level="WARNING", format="{message}")
    yield lines
    logger.remove(sink)


async def wait_until(predicate: Callable[[], bool], limit_s: float = 5.0) -> None:
    async with asyncio.timeout(limit_s):
        while not predicate():  # noqa: ASYNC110 - polls scheduler state that has no event to wait on
            await asyncio.sleep(0.005)


async def test_runs_skipped_behind_a_slow_run_make_one_line_not_one_per_run(
    warnings: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    job = Blocked()
    scheduler = SyncScheduler()
    scheduler.start([spec(job, interval=0.02)])
    try:
        with caplog.at_level(logging.DEBUG, logger="apscheduler"):
            await wait_until(lambda: scheduler.runners[NAME].runs_skipped >= 5)
    finally:
        job.release.set()
        await scheduler.stop(grace_s=1)
    assert job.runs == 1
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    assert len(warnings) == 1 and warnings[0].startswith("1 scheduled run(s) skipped because"), warnings
    assert "(orders 1; 1 job(s) of 1 merchant(s))" in warnings[0]


async def test_skips_are_counted_and_reported_at_most_every_ten_minutes(warnings: list[str]) -> None:
    clock = FakeClock()
    observed = Recorded()
    job = Blocked()
    scheduler = SyncScheduler(clock=clock, observer=observed)
    scheduler.start([spec(job, interval=60.0)])
    scheduler._scheduler.pause()  # the test says when runs are due
    try:
        scheduler._due(NAME, clock.now() - timedelta(seconds=0.25))
        await wait_until(lambda: scheduler.runners[NAME].running)
        assert observed.lateness == [0.25]
        runner = scheduler.runners[NAME]

        scheduler._due(NAME, clock.now())  # due again at once: no skip to speak of
        assert runner.runs_skipped == 0
        for _ in range(15):  # 15 intervals of one run that hangs
            clock.advance(60)
            scheduler._due(NAME, clock.now())
        assert runner.runs_skipped == 15 and len(observed.skipped) == 15
        # The first skip at once; the next line after 10 minutes carries the 10 skips in between.
        assert len(warnings) == 2, warnings
        assert warnings[0].startswith("1 scheduled run(s) skipped because earlier runs outlived")
        assert warnings[1].startswith("10 scheduled run(s) skipped in the last 10 min")

        clock.advance(SKIP_REPORT_S)
        job.release.set()
        await wait_until(lambda: not runner.busy)
        # The rest is reported when the run ends (the next 10 minutes having passed).
        assert len(warnings) == 3 and warnings[2].startswith("4 scheduled run(s) skipped in the last 14 min")
        assert observed.lateness == [0.25]  # skipped runs never started
    finally:
        job.release.set()
        await scheduler.stop(grace_s=1)


async def test_an_overloaded_fleet_writes_one_summary_line_by_flow_not_one_per_job(
    warnings: list[str],
) -> None:
    """300 jobs of 100 merchants all behind: one WARNING per 10 minutes for the process, counts by flow;
    each job's skip only at DEBUG."""
    clock = FakeClock()
    jobs = [Blocked() for _ in range(300)]
    specs = [
        JobSpec(
            merchant=f"m{i // 3}",
            channel="shop",
            flow=("orders", "stock", "status")[i % 3],
            interval_s=60.0,
            run=j,
        )
        for i, j in enumerate(jobs)
    ]
    debug: list[str] = []
    sink = logger.add(
        lambda m: debug.append(m.record["message"]), level="DEBUG", filter=lambda r: r["level"].no < 30
    )
    scheduler = SyncScheduler(clock=clock)
    scheduler.start(specs)
    scheduler._scheduler.pause()
    try:
        for s in specs:
            scheduler._due(s.name, clock.now())
        await wait_until(lambda: all(r.running for r in scheduler.runners.values()))
        for _ in range(20):  # 20 minutes of every job hanging: 6,000 skipped runs
            clock.advance(60)
            for s in specs:
                scheduler._due(s.name, clock.now())
        assert sum(r.runs_skipped for r in scheduler.runners.values()) == 6000
        assert len(warnings) == 2, warnings  # the first skip at once, then one per 10 minutes (at 11 min)
        assert warnings[0].startswith("1 scheduled run(s) skipped because")
        assert warnings[1].startswith("3000 scheduled run(s) skipped in the last 10 min")
        assert "(orders 1000, status 1000, stock 1000; 300 job(s) of 100 merchant(s))" in warnings[1]
        assert sum("skipped a scheduled run" in line for line in debug) == 6000
    finally:
        logger.remove(sink)
        for j in jobs:
            j.release.set()
        await scheduler.stop(grace_s=1)


async def test_a_run_due_during_a_fresh_triggered_run_is_no_skip_to_report(warnings: list[str]) -> None:
    clock = FakeClock()
    job = Blocked()
    scheduler = SyncScheduler(clock=clock, observer=Recorded())
    scheduler.start([spec(job, interval=60.0)])
    scheduler._scheduler.pause()
    try:
        assert scheduler.trigger(NAME)
        await wait_until(lambda: scheduler.runners[NAME].running)
        clock.advance(5)
        scheduler._due(NAME, clock.now())
        assert scheduler.runners[NAME].runs_skipped == 0 and warnings == []
    finally:
        job.release.set()
        await scheduler.stop(grace_s=1)


async def test_every_scheduled_run_reports_its_lateness_to_the_metric() -> None:
    metrics = SyncMetrics()
    runs = 0

    async def quick() -> None:
        nonlocal runs
        runs += 1

    scheduler = SyncScheduler(observer=SchedulerMetrics(metrics))
    scheduler.start([spec(quick, interval=0.03)])
    try:
        await wait_until(lambda: runs >= 3)
    finally:
        await scheduler.stop(grace_s=1)
    count = metrics.registry.get_sample_value("ffn_sync_scheduler_lateness_seconds_count", {"flow": "orders"})
    total = metrics.registry.get_sample_value("ffn_sync_scheduler_lateness_seconds_sum", {"flow": "orders"})
    assert count is not None and count >= 3
    assert total is not None and 0 <= total < count * 5  # start minus planned fire time: never negative


def test_skipped_runs_are_counted_per_job_in_the_metric() -> None:
    metrics = SyncMetrics()
    SchedulerMetrics(metrics).run_skipped(spec(Blocked(), interval=1))
    labels = {"merchant": "acme", "channel": "shop", "flow": "orders"}
    assert metrics.registry.get_sample_value("ffn_sync_scheduler_skipped_runs_total", labels) == 1
