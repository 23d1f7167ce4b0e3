"""Runs the runtime's jobs on their intervals (APScheduler 3.x on the asyncio loop).

Each job run is wrapped by a ``JobRunner``: flow context bound on every log line, exceptions logged once
and counted, and a failure backoff — after ``BackoffPolicy.threshold`` consecutive failures the next run is
pushed out exponentially (capped) and the normal interval returns with the first success.

``trigger`` runs a job now (a shop webhook said its data changed), coalesced: never two runs of one job at
once, and any number of triggers during a run make exactly one more run after it.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from loguru import logger

from daemon.clock import SYSTEM_CLOCK, Clock
from daemon.secrets import redact

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


@dataclass(frozen=True)
class JobSpec:
    """One scheduled unit of work: a flow of one merchant (and channel, for shop-side flows)."""

    merchant: str
    channel: str | None
    flow: str
    interval_s: float
    run: Callable[[], Awaitable[None]]
    phase: int = 0  # `once` runs every job of phase 0 before any of phase 1 (e.g. reads before writes)

    @property
    def name(self) -> str:
        # Merchant-level flows (FFN shipments, reconcile) have no channel; "-" keeps the shape stable
        # for log filters and metric labels.
        return f"{self.merchant}/{self.channel or '-'}/{self.flow}"


@dataclass(frozen=True)
class BackoffPolicy:
    threshold: int = 3  # consecutive failures tolerated at the normal interval
    factor: float = 2.0
    max_delay_s: float = 900.0

    def delay_s(self, consecutive_failures: int, interval_s: float) -> float | None:
        """Extra wait before the next run, or None while the job should keep its interval."""
        if consecutive_failures < self.threshold:
            return None
        steps = consecutive_failures - self.threshold + 1
        return min(interval_s * self.factor**steps, max(self.max_delay_s, interval_s))


@dataclass(frozen=True)
class JobHealth:
    """A snapshot of one job's record, for /healthz, status output and the shutdown summary."""

    name: str
    merchant: str
    channel: str | None
    flow: str
    interval_s: float
    last_success: datetime | None
    last_failure: datetime | None
    consecutive_failures: int
    last_error: str | None
    runs_ok: int
    runs_failed: int
    backoff_until: datetime | None
    running: bool


_CARRIED_OVER = (
    "last_success",
    "last_failure",
    "consecutive_failures",
    "last_error",
    "runs_ok",
    "runs_failed",
    "backoff_until",
)


class JobRunner:
    """Wraps one JobSpec: context, error accounting and backoff. Calling it runs the job once."""

    def __init__(self, spec: JobSpec, *, policy: BackoffPolicy | None = None, clock: Clock = SYSTEM_CLOCK):
        self.spec = spec
        self.policy = policy or BackoffPolicy()
        self.clock = clock
        self.last_success: datetime | None = None
        self.last_failure: datetime | None = None
        self.consecutive_failures = 0
        self.last_error: str | None = None
        self.runs_ok = 0
        self.runs_failed = 0
        self.backoff_until: datetime | None = None
        self.running = False
        # Claimed by the scheduler for a run (set synchronously, before the run's task starts), and asked
        # to run once more when that run ends (a trigger arrived meanwhile).
        self.busy = False
        self.run_again = False

    def adopt(self, previous: JobRunner) -> None:
        """Keep the record of the same job across a config reload, but not its backoff: the operator
        reloads because something was fixed, so the job tries again at once."""
        for attr in _CARRIED_OVER:
            setattr(self, attr, getattr(previous, attr))
        self.backoff_until = None

    def wake(self) -> bool:
        """Forget the backoff (something was fixed); True when the job was backing off."""
        waiting = self.backoff_until is not None
        self.backoff_until = None
        return waiting

    async def __call__(self) -> bool:
        """Run unless backing off; True on success. Never raises except on cancellation."""
        if self.backoff_until is not None and self.clock.now() < self.backoff_until:
            return False
        spec = self.spec
        self.running = True
        try:
            with logger.contextualize(merchant=spec.merchant, channel=spec.channel, flow=spec.flow):
                try:
                    await spec.run()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self._failed(exc)
                    return False
                self._succeeded()
                return True
        finally:
            self.running = False

    def _succeeded(self) -> None:
        if self.consecutive_failures >= self.policy.threshold:
            logger.info("recovered after {} consecutive failures", self.consecutive_failures)
        self.last_success = self.clock.now()
        self.consecutive_failures = 0
        self.backoff_until = None
        self.runs_ok += 1

    def _failed(self, exc: Exception) -> None:
        self.last_failure = self.clock.now()
        self.consecutive_failures += 1
        self.runs_failed += 1
        self.last_error = redact(f"{type(exc).__name__}: {exc}")
        delay = self.policy.delay_s(self.consecutive_failures, self.spec.interval_s)
        # A flow that already logged its failure with the details gets a quieter scheduler line.
        level = "WARNING" if getattr(exc, "already_logged", False) else "ERROR"
        if delay is None:
            self.backoff_until = None
            logger.log(level, "{} failed: {}", self.spec.flow, self.last_error)
            return
        self.backoff_until = self.last_failure + timedelta(seconds=delay)
        logger.log(
            level,
            "{} failed ({} in a row), next attempt in {:.0f}s: {}",
            self.spec.flow,
            self.consecutive_failures,
            delay,
            self.last_error,
        )

    def health(self) -> JobHealth:
        spec = self.spec
        return JobHealth(
            name=spec.name,
            merchant=spec.merchant,
            channel=spec.channel,
            flow=spec.flow,
            interval_s=spec.interval_s,
            last_success=self.last_success,
            last_failure=self.last_failure,
            consecutive_failures=self.consecutive_failures,
            last_error=self.last_error,
            runs_ok=self.runs_ok,
            runs_failed=self.runs_failed,
            backoff_until=self.backoff_until,
            running=self.running,
        )


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
