"""Runs the runtime's jobs on their intervals (APScheduler 3.x on the asyncio loop).

Each job run is wrapped by a ``JobRunner`` (daemon/jobrunner.py: one job, its record and its backoff);
this module decides when runs happen.

``trigger`` runs a job now (a shop webhook said its data changed), coalesced: never two runs of one job at
once, and any number of triggers during a run make exactly one more run after it.

When runs are due is kept here, in one heap of (fire time, job) in memory; APScheduler runs one job, the
dispatch tick (every ``TICK_S``), that starts the runs the heap says are due. APScheduler 3.x timed every job
itself: at a fleet's ~140 empty cycles a second each due job meant a wake-up of its own, a walk of its job
store, a re-sorted job list and datetime/timezone arithmetic for the next fire time — ~6 % of an idle
fleet's CPU, more than the scheduling decision is worth. The tick keeps what APScheduler is good at (a
timer on the asyncio loop that pauses for a reload, resumes and shuts down, coalescing missed ticks after a
stall) and the per-job timing costs a heap push and pop. A job's fire times stay on its own grid (phase from
its name, ``first_run_at``) with a fresh jitter of up to 10 % of the interval (at most ``MAX_JITTER_S``) on each;
after a stall one run per job, not one per missed fire time. A run due while the job is
still running is skipped (its data is being read right now): counted, and reported for the whole scheduler
in one line at most every ``daemon.skips.SKIP_REPORT_S`` instead of one WARNING per skipped run. How late each run starts after
its planned (spread) fire time goes to ``SchedulerObserver.run_started`` (the lateness metric).
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import itertools
import math
import random
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from apscheduler.executors.base import BaseExecutor
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from loguru import logger

from daemon.clock import SYSTEM_CLOCK, Clock
from daemon.jobrunner import BackoffPolicy, JobHealth, JobRunner, JobSpec
from daemon.skips import SkipSummary

MAX_JITTER_S = 5.0
CANCEL_WAIT_S = 30.0
# How often the heap is looked at: a run starts at most this late after its fire time (the lateness
# metric's p99 target is 1 s), and an idle process wakes this often for it.
TICK_S = 0.1
TICK_JOB = "dispatch-tick"


def first_run_at(name: str, interval_s: float, now: datetime) -> datetime:
    """The first run of job ``name``: the next instant after ``now`` on the job's own grid.

    The grid is the job's interval shifted by a phase taken from a hash of its name, so the jobs of a
    fleet spread evenly over their interval instead of all starting at once (and every catch-up and
    reconcile with them), and a job keeps its phase across restarts and reloads: a restart after an
    outage does not bunch them up either. The first run is therefore up to one interval after start.
    """
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    phase = int.from_bytes(digest, "big") / 2**64 * interval_s
    wait = (phase - now.timestamp()) % interval_s
    return now + timedelta(seconds=wait)


class SchedulerObserver(Protocol):
    def run_started(self, spec: JobSpec, lateness_s: float) -> None:
        """A scheduled run starts ``lateness_s`` after its planned fire time."""

    def run_skipped(self, spec: JobSpec) -> None:
        """A scheduled run was due while the previous one had been running for over an interval."""


class NullSchedulerObserver:
    def run_started(self, spec: JobSpec, lateness_s: float) -> None:
        return None

    def run_skipped(self, spec: JobSpec) -> None:
        return None


class _Dispatch(BaseExecutor):  # type: ignore[misc]
    """Calls the tick in the loop's own callback, and keeps no count of running instances.

    APScheduler's asyncio executor would run a plain function in a thread pool, or make a task of a
    coroutine function for every tick; the tick only pops a heap and starts tasks, so it runs inline.
    """

    def __init__(self, tick: Callable[[], None]) -> None:
        super().__init__()
        self._tick = tick

    def submit_job(self, job: Any, run_times: list[datetime]) -> None:
        self._tick()

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        self.submit_job(job, run_times)


class _Planned:
    """The next fire time of one job (an entry of the heap; replaced, never edited, when the plan changes)."""

    __slots__ = ("at", "grid", "name")

    def __init__(self, at: float, grid: float, name: str) -> None:
        self.at = at  # epoch seconds, jitter included
        self.grid = grid  # the point of the job's grid ``at`` was jittered from
        self.name = name


class SyncScheduler:
    """Every JobSpec's runs on its interval (a heap of fire times, dispatched by one APScheduler tick),
    plus a graceful stop that lets running cycles finish."""

    def __init__(
        self,
        *,
        policy: BackoffPolicy | None = None,
        clock: Clock = SYSTEM_CLOCK,
        observer: SchedulerObserver | None = None,
    ) -> None:
        self.policy = policy or BackoffPolicy()
        self.clock = clock
        self.observer: SchedulerObserver = observer or NullSchedulerObserver()
        self.runners: dict[str, JobRunner] = {}
        self.skips = SkipSummary(clock)  # kept across reloads: one summary line per process
        self._scheduler: Any = AsyncIOScheduler(timezone=UTC, executors={"default": _Dispatch(self._tick)})
        self._heap: list[tuple[float, int, _Planned]] = []
        self._planned: dict[str, _Planned] = {}  # the live entry of each job; others in the heap are stale
        self._order = itertools.count()  # ties of equal fire times, so the heap never compares entries
        self._jitter = random.Random()
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._stopped = False
        self._swapping = False  # a reload is replacing the job set: triggers wait for the new one
        self._retired = (0, 0)  # ok/failed runs of jobs dropped by a reload

    @property
    def totals(self) -> tuple[int, int]:
        """Cycles (ok, failed) since start, across reloads."""
        ok = self._retired[0] + sum(r.runs_ok for r in self.runners.values())
        failed = self._retired[1] + sum(r.runs_failed for r in self.runners.values())
        return ok, failed

    def start(self, jobs: Sequence[JobSpec]) -> None:
        self._scheduler.add_job(
            _never_called,
            IntervalTrigger(seconds=TICK_S, timezone=UTC),
            id=TICK_JOB,
            name=TICK_JOB,
            coalesce=True,  # after a stall one tick: it starts everything due by then
            misfire_grace_time=None,
        )
        self._scheduler.start()
        self._add_jobs(jobs)

    async def replace_jobs(
        self,
        jobs: Sequence[JobSpec],
        grace_s: float,
        *,
        retire: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Swap the job set (config reload): drain running cycles (cancelling what outlives ``grace_s``),
        ``retire`` the old set (close its clients), then start the new set with the record of surviving jobs.
        """
        self._scheduler.pause()
        self._swapping = True
        try:
            await self._drain(grace_s)
            self._heap.clear()
            self._planned.clear()
            if retire is not None:
                await retire()
            previous = self.runners
            self.runners = {}
            self._add_jobs(jobs, previous)
        finally:
            self._swapping = False
        dropped = [r for name, r in previous.items() if name not in self.runners]
        self._retired = (
            self._retired[0] + sum(r.runs_ok for r in dropped),
            self._retired[1] + sum(r.runs_failed for r in dropped),
        )
        self._scheduler.resume()

    def wake(self, merchant: str | None = None, *, flows: Iterable[str] | None = None) -> list[str]:
        """Run the backing-off jobs of ``merchant`` (default every merchant; of ``flows``, default all) now;
        returns their names."""
        wanted = None if flows is None else set(flows)
        woken: list[str] = []
        now = self.clock.now().timestamp()
        for name, runner in self.runners.items():
            spec = runner.spec
            if merchant is not None and spec.merchant != merchant:
                continue
            if wanted is not None and spec.flow not in wanted:
                continue
            if runner.wake():
                woken.append(name)
                self._plan(name, now, now)
        if woken:
            logger.info("{} job(s) stop backing off and run now: {}", len(woken), ", ".join(woken))
        return woken

    def trigger(self, name: str) -> bool:
        """Run job ``name`` now; if it is running, once more right after. False when there is no such job
        (or the scheduler is stopping or swapping its jobs: the new set's first runs come within seconds).

        A backing-off job stays backed off: a trigger does not hammer a shop that keeps failing.
        """
        runner = self.runners.get(name)
        if runner is None or self._stopped or self._swapping:
            return False
        if runner.busy:
            runner.run_again = True
            return True
        if runner.backing_off():
            return True  # its backoff ends with a run anyway: no task (and no heap entry) per trigger
        runner.busy = True
        task = asyncio.create_task(self._run_claimed(runner), name=f"triggered {name}")
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)
        return True

    async def stop(self, grace_s: float) -> int:
        """Stop scheduling, wait up to ``grace_s`` for running cycles, cancel the rest; returns cancelled."""
        if self._stopped:
            return 0
        self._stopped = True
        self._scheduler.pause()
        cancelled = await self._drain(grace_s)
        self._scheduler.shutdown(wait=False)
        return cancelled

    def health(self) -> list[JobHealth]:
        return [runner.health() for runner in self.runners.values()]

    def next_run(self, name: str) -> datetime | None:
        planned = self._planned.get(name)
        return None if planned is None else datetime.fromtimestamp(planned.at, UTC)

    def reschedule(self, name: str, at: datetime) -> None:
        """The next run of job ``name`` at ``at`` (then every interval from there)."""
        if name in self.runners:
            self._plan(name, at.timestamp(), at.timestamp())

    def _add_jobs(self, jobs: Sequence[JobSpec], previous: dict[str, JobRunner] | None = None) -> None:
        now = self.clock.now()
        for spec in jobs:
            runner = JobRunner(spec, policy=self.policy, clock=self.clock, skips=self.skips)
            if previous and spec.name in previous:
                runner.adopt(previous[spec.name])
            self.runners[spec.name] = runner
            # The first run exactly on the grid (no jitter): the phase already spreads the fleet.
            first = first_run_at(spec.name, spec.interval_s, now).timestamp()
            self._plan(spec.name, first, first)

    def _plan(self, name: str, at: float, grid: float) -> None:
        planned = _Planned(at, grid, name)
        self._planned[name] = planned
        heapq.heappush(self._heap, (at, next(self._order), planned))

    def _tick(self) -> None:
        """Start every run whose fire time has come, and plan each job's next one."""
        if self._stopped:
            return
        now = self.clock.now().timestamp()
        heap, live = self._heap, self._planned
        while heap and heap[0][0] <= now:
            planned = heapq.heappop(heap)[2]
            if live.get(planned.name) is not planned:
                continue  # replaced by a backoff, a wake or a reload
            runner = self.runners.get(planned.name)
            if runner is None:
                del live[planned.name]
                continue
            interval = runner.spec.interval_s
            # The next point of the grid after now: after a stall one run, not one per missed fire time.
            missed = max(0, math.floor((now - planned.grid) / interval))
            grid = planned.grid + (missed + 1) * interval
            jitter = min(MAX_JITTER_S, interval * 0.1)
            self._plan(planned.name, grid + self._jitter.uniform(0, jitter), grid)
            # Late to the latest fire time it missed (as apscheduler's coalescing reported), not the first.
            latest = planned.at if missed == 0 else planned.grid + missed * interval
            self._due(planned.name, datetime.fromtimestamp(latest, UTC))

    def _due(self, name: str, planned: datetime) -> None:
        """APScheduler says job ``name`` is due (planned for ``planned``): start its run unless it is running."""
        runner = self.runners.get(name)
        if runner is None or self._stopped:
            return
        if runner.busy:
            # The running run reads the same data right now; another would only repeat it. Only a run that
            # has outlived its interval is news (a triggered run that just started is not).
            if runner.overdue():
                runner.skip()
                self.observer.run_skipped(runner.spec)
            return
        runner.busy = True
        task = asyncio.create_task(self._run_claimed(runner, planned))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _run_claimed(self, runner: JobRunner, planned: datetime | None = None) -> None:
        # In ``_in_flight`` from its creation to its end (the creator adds it, its done callback drops it).
        if planned is not None:
            self.observer.run_started(runner.spec, (self.clock.now() - planned).total_seconds())
        try:
            while True:
                runner.run_again = False
                ok = await runner()
                current = self.runners.get(runner.spec.name) is runner
                if not ok and runner.backoff_until is not None and not self._stopped:
                    if current:
                        self.reschedule(runner.spec.name, runner.backoff_until)
                    return
                if not (runner.run_again and current and not self._stopped and not self._swapping):
                    return
        except asyncio.CancelledError:
            if not self._stopped:
                raise
            # Cancelled by stop(): the cycle said so in one INFO line; apscheduler must not report
            # it as a job that raised (an ERROR with a traceback).
            return
        finally:
            runner.busy = False
            runner.run_again = False

    async def _drain(self, grace_s: float) -> int:
        pending = {t for t in self._in_flight if not t.done()}
        if not pending:
            return 0
        logger.info("waiting up to {:.0f}s for {} running job(s)", grace_s, len(pending))
        _, still_running = await asyncio.wait(pending, timeout=grace_s)
        for task in still_running:
            task.cancel()
        if still_running:
            # Awaited to the end: nothing of the old job set may still be talking to an upstream when
            # the caller goes on to close its clients or start the new set.
            _, refusing = await asyncio.wait(still_running, timeout=CANCEL_WAIT_S)
            logger.warning("cancelled {} job(s) still running after {:.0f}s", len(still_running), grace_s)
            if refusing:
                logger.error("{} cancelled job(s) did not stop within {:.0f}s", len(refusing), CANCEL_WAIT_S)
        return len(still_running)


def _never_called() -> None:
    """APScheduler wants a job function; ``_Dispatch`` calls ``SyncScheduler._tick`` instead."""


async def run_all_once(jobs: Iterable[JobSpec], *, clock: Clock = SYSTEM_CLOCK) -> bool:
    """Run every job once (``ffn-sync once``): phase by phase; within a phase channels in parallel,
    flows of one channel in order."""
    policy = BackoffPolicy(threshold=1_000_000)  # a single pass never backs off
    phases: dict[int, dict[tuple[str, str | None], list[JobRunner]]] = defaultdict(lambda: defaultdict(list))
    for spec in jobs:
        phases[spec.phase][(spec.merchant, spec.channel)].append(JobRunner(spec, policy=policy, clock=clock))

    async def run_lane(runners: list[JobRunner]) -> bool:
        results = [await runner() for runner in runners]
        return all(results)

    ok = True
    for phase in sorted(phases):
        outcomes = await asyncio.gather(*(run_lane(r) for r in phases[phase].values()))
        ok = all(outcomes) and ok
    return ok
