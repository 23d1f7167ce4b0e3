"""One scheduled job and its record: what it runs (``JobSpec``), how a run is wrapped (``JobRunner``: flow
context bound on every log line, exceptions logged once and counted) and its failure backoff — after
``BackoffPolicy.threshold`` consecutive failures the next run is pushed out exponentially (capped) and the
normal interval returns with the first success. When runs happen is ``daemon.scheduler``'s business; a
run it had to skip because this one was still going is counted here, logged at DEBUG, and summed up for the
whole process by ``daemon.skips.SkipSummary`` (one line per ``SKIP_REPORT_S``, not one per job).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from loguru import logger

from daemon.clock import SYSTEM_CLOCK, Clock
from daemon.secrets import redact
from daemon.skips import SKIP_REPORT_S, SkipSummary

__all__ = ["SKIP_REPORT_S", "BackoffPolicy", "JobHealth", "JobRunner", "JobSpec"]


@dataclass(frozen=True)
class JobSpec:
    """One scheduled unit of work: a flow of one merchant (and channel, for shop-side flows)."""

    merchant: str
    channel: str | None
    flow: str
    interval_s: float
    run: Callable[[], Awaitable[None]]
    phase: int = 0  # `once` runs every job of phase 0 before any of phase 1 (e.g. reads before writes)
    # What backoff delays grow from, when not the interval: a job run mostly by triggers (a shop's stock)
    # has a long interval that is only its safety net, and must not wait that long after a short outage.
    retry_s: float | None = None

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
    runs_skipped: int = 0


_CARRIED_OVER = (
    "last_success",
    "last_failure",
    "consecutive_failures",
    "last_error",
    "runs_ok",
    "runs_failed",
    "backoff_until",
    "runs_skipped",
)


class JobRunner:
    """Wraps one JobSpec: context, error accounting and backoff. Calling it runs the job once."""

    def __init__(
        self,
        spec: JobSpec,
        *,
        policy: BackoffPolicy | None = None,
        clock: Clock = SYSTEM_CLOCK,
        skips: SkipSummary | None = None,
    ):
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
        self.started_at: datetime | None = None  # of the run going on now
        self.runs_skipped = 0
        # Shared by every job of a scheduler, so an overloaded process says so in one line, not one per job.
        self.skips = skips if skips is not None else SkipSummary(clock)
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

    def overdue(self) -> bool:
        """Running for at least one interval: a run due now has to be skipped because of this one."""
        started = self.started_at
        return (
            self.running
            and started is not None
            and (self.clock.now() - started).total_seconds() >= self.spec.interval_s
        )

    def skip(self) -> None:
        """A scheduled run was skipped because of this overdue one: counted, summed up for the process."""
        self.runs_skipped += 1
        spec = self.spec
        logger.debug(
            "{} skipped a scheduled run: the run going on has outlived its {:g}s interval",
            spec.name,
            spec.interval_s,
        )
        self.skips.count(spec.name, spec.merchant, spec.flow)

    def backing_off(self) -> bool:
        return self.backoff_until is not None and self.clock.now() < self.backoff_until

    async def __call__(self) -> bool:
        """Run unless backing off; True on success. Never raises except on cancellation."""
        if self.backing_off():
            return False
        spec = self.spec
        self.running = True
        self.started_at = self.clock.now()
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
            self.started_at = None
            self.skips.report_due()  # what was skipped since the last line, once its pause is over

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
        delay = self.policy.delay_s(self.consecutive_failures, self.spec.retry_s or self.spec.interval_s)
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
            runs_skipped=self.runs_skipped,
        )
