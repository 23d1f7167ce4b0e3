"""Runs the runtime's jobs on their intervals (APScheduler 3.x on the asyncio loop).

Each job run is wrapped by a ``JobRunner`` (daemon/jobrunner.py: one job, its record and its backoff);
this module decides when runs happen.

``trigger`` runs a job now (a shop webhook said its data changed), coalesced: never two runs of one job at
once, and any number of triggers during a run make exactly one more run after it.

APScheduler only says when a run is due (``_Dispatch``); this module starts it. A run due while the job is
still running is skipped (its data is being read right now): counted, and reported for the whole scheduler
in one line at most every ``daemon.skips.SKIP_REPORT_S`` instead of one WARNING per skipped run. How late each run starts after
its planned (spread) fire time goes to ``SchedulerObserver.run_started`` (the lateness metric).
"""

from __future__ import annotations

import asyncio
import hashlib
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
    """Hands each due run to ``on_due`` with its planned fire time, and keeps no count of running instances.

    APScheduler's own executor counts a run until it ends and logs a WARNING for every fire time it
    reaches meanwhile; at a fleet's intervals that is a line per slow cycle. ``SyncScheduler`` keeps the
    one-run-at-a-time rule itself (``JobRunner.busy``) and says so at its own pace.
    """

    def __init__(self, on_due: Callable[[str, datetime], None]) -> None:
        super().__init__()
        self._on_due = on_due

    def submit_job(self, job: Any, run_times: list[datetime]) -> None:
        # Coalesced: of several missed fire times only the latest comes, and it is the one the run is late to.
        self._on_due(job.id, run_times[-1])

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        self.submit_job(job, run_times)


class SyncScheduler:
    """One APScheduler job per JobSpec, plus a graceful stop that lets running cycles finish."""

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
        self._scheduler: Any = AsyncIOScheduler(timezone=UTC, executors={"default": _Dispatch(self._due)})
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
            self._scheduler.remove_all_jobs()
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
        now = datetime.now(UTC)
        for name, runner in self.runners.items():
            spec = runner.spec
            if merchant is not None and spec.merchant != merchant:
                continue
            if wanted is not None and spec.flow not in wanted:
                continue
            if runner.wake():
                woken.append(name)
                job = self._scheduler.get_job(name)
                if job is not None:
                    job.modify(next_run_time=now)
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
        job = self._scheduler.get_job(name)
        return None if job is None else job.next_run_time  # type: ignore[no-any-return]

    def _add_jobs(self, jobs: Sequence[JobSpec], previous: dict[str, JobRunner] | None = None) -> None:
        now = self.clock.now()
        for spec in jobs:
            runner = JobRunner(spec, policy=self.policy, clock=self.clock, skips=self.skips)
            if previous and spec.name in previous:
                runner.adopt(previous[spec.name])
            self.runners[spec.name] = runner
            interval = spec.interval_s
            first = first_run_at(spec.name, interval, now)
            self._scheduler.add_job(
                _never_called,
                IntervalTrigger(seconds=interval, jitter=min(MAX_JITTER_S, interval * 0.1), timezone=UTC),
                id=spec.name,
                name=spec.name,
                coalesce=True,  # after a pause (a busy loop, a suspended VM) one run, not one per missed time
                misfire_grace_time=None,  # however late: run (late runs show in the lateness metric)
                next_run_time=first,
            )

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
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        if planned is not None:
            self.observer.run_started(runner.spec, (self.clock.now() - planned).total_seconds())
        try:
            while True:
                runner.run_again = False
                ok = await runner()
                current = self.runners.get(runner.spec.name) is runner
                if not ok and runner.backoff_until is not None and not self._stopped:
                    job = self._scheduler.get_job(runner.spec.name)
                    if job is not None and current:
                        job.modify(next_run_time=runner.backoff_until)
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
            if task is not None:
                self._in_flight.discard(task)

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
    """APScheduler wants a job function; ``_Dispatch`` hands due runs to ``SyncScheduler._due`` instead."""


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
