"""Runs the runtime's jobs on their intervals (APScheduler 3.x on the asyncio loop).

Each job run is wrapped by a ``JobRunner`` (daemon/jobrunner.py: one job, its record and its backoff);
this module decides when runs happen.

``trigger`` runs a job now (a shop webhook said its data changed), coalesced: never two runs of one job at
once, and any number of triggers during a run make exactly one more run after it.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from loguru import logger

from daemon.clock import SYSTEM_CLOCK, Clock
from daemon.jobrunner import BackoffPolicy, JobHealth, JobRunner, JobSpec

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


class SyncScheduler:
    """One APScheduler job per JobSpec, plus a graceful stop that lets running cycles finish."""

    def __init__(self, *, policy: BackoffPolicy | None = None, clock: Clock = SYSTEM_CLOCK) -> None:
        self.policy = policy or BackoffPolicy()
        self.clock = clock
        self.runners: dict[str, JobRunner] = {}
        self._scheduler: Any = AsyncIOScheduler(timezone=UTC)
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
            runner = JobRunner(spec, policy=self.policy, clock=self.clock)
            if previous and spec.name in previous:
                runner.adopt(previous[spec.name])
            self.runners[spec.name] = runner
            interval = spec.interval_s
            first = first_run_at(spec.name, interval, now)
            self._scheduler.add_job(
                self._run_scheduled,
                IntervalTrigger(seconds=interval, jitter=min(MAX_JITTER_S, interval * 0.1), timezone=UTC),
                args=[runner],
                id=spec.name,
                name=spec.name,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=max(1, int(interval)),
                next_run_time=first,
            )

    async def _run_scheduled(self, runner: JobRunner) -> None:
        if runner.busy:
            # A triggered run is reading the same data right now; this one would only repeat it.
            return
        runner.busy = True
        await self._run_claimed(runner)

    async def _run_claimed(self, runner: JobRunner) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
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
