"""Skipped scheduled runs, reported for the whole process: one WARNING line at most every ``SKIP_REPORT_S``
with the count by flow, however many jobs skipped.

A run is skipped when it falls due while the job's previous run has outlived its interval. On an overloaded
process that happens to most jobs at once (a fleet of a thousand merchants on a busy machine), and a line per
job — even one per job every ten minutes — is thousands of lines that say one thing: the process is behind.
So the jobs count here, the detail of each skip goes to DEBUG, and the summary names the flows and how many
jobs and merchants were behind.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from loguru import logger

from daemon.clock import SYSTEM_CLOCK, Clock

SKIP_REPORT_S = 600.0


class SkipSummary:
    """Counts skipped runs of every job of a process and reports them in one line per ``SKIP_REPORT_S``."""

    def __init__(self, clock: Clock = SYSTEM_CLOCK) -> None:
        self.clock = clock
        self._by_flow: Counter[str] = Counter()
        self._jobs: set[str] = set()
        self._merchants: set[str] = set()
        self._reported_at: datetime | None = None

    @property
    def pending(self) -> int:
        """Skips counted since the last line."""
        return sum(self._by_flow.values())

    def count(self, job: str, merchant: str, flow: str) -> None:
        self._by_flow[flow] += 1
        self._jobs.add(job)
        self._merchants.add(merchant)
        self.report_due()

    def report_due(self) -> None:
        """Write the summary if there is something to say and the last line is ``SKIP_REPORT_S`` old."""
        if not self._by_flow:
            return
        now = self.clock.now()
        last = self._reported_at
        if last is not None and (now - last).total_seconds() < SKIP_REPORT_S:
            return
        flows = ", ".join(
            f"{flow} {n}" for flow, n in sorted(self._by_flow.items(), key=lambda kv: (-kv[1], kv[0]))
        )
        logger.warning(
            "{} scheduled run(s) skipped{} because earlier runs outlived their interval ({}; {} job(s) of {}"
            " merchant(s)); the process is behind its schedule (reported at most every {:.0f} min, each job"
            " at DEBUG)",
            self.pending,
            "" if last is None else f" in the last {(now - last).total_seconds() / 60:.0f} min",
            flows,
            len(self._jobs),
            len(self._merchants),
            SKIP_REPORT_S / 60,
        )
        self._by_flow.clear()
        self._jobs.clear()
        self._merchants.clear()
        self._reported_at = now
