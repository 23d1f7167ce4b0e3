"""The quiet health row: rewritten at most every other cycle, yet never old enough for the stall rule.

Cycles run on a grid of their interval plus the scheduler's jitter (up to 10 % of the interval, apscheduler
adds it after the grid point) plus their own lateness; the stall rule (``ffn-sync status``, the watcher)
reads ``last_success_at`` from Postgres and calls a flow stalled after ``STALL_INTERVALS`` intervals.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from daemon.engine.quiet import QuietWrites
from daemon.engine.reports import STALL_INTERVALS

START = datetime(2026, 1, 1, tzinfo=UTC)
INTERVAL = 60.0
JITTER = 0.1 * INTERVAL
LATE_S = 1.0  # the scheduler lateness target at p99


def _stored(cycles: list[float]) -> tuple[float, float]:
    """(oldest the stored success gets before a cycle rewrites it, in intervals; rows written per cycle)."""
    quiet = QuietWrites()
    written: float | None = None
    oldest = 0.0
    writes = 0
    for at in cycles:
        now = START + timedelta(seconds=at)
        if written is not None:
            oldest = max(oldest, at - written)
        if not quiet.health_may_skip("shop", "orders", INTERVAL, now, quiet=True):
            quiet.health_written("shop", "orders", INTERVAL, now, quiet=True)
            written = at
            writes += 1
    return oldest / INTERVAL, writes / len(cycles)


def test_jitter_that_alternates_early_and_late_never_makes_a_quiet_flow_look_stalled() -> None:
    # The worst case for a "rewrite once N intervals old" rule: the cycle that would rewrite comes a
    # little early (skipped), the next one late.
    cycles = [k * INTERVAL + (JITTER + LATE_S if k % 3 == 0 else 0.0) for k in range(60)]
    oldest, _ = _stored(cycles)
    assert oldest < STALL_INTERVALS - 0.25


def test_random_jitter_never_makes_a_quiet_flow_look_stalled_and_halves_the_writes() -> None:
    rng = random.Random(18)
    worst, most_writes = 0.0, 0.0
    for _ in range(300):
        cycles = [k * INTERVAL + rng.uniform(0, JITTER) + rng.uniform(0, LATE_S) for k in range(60)]
        oldest, writes = _stored(cycles)
        worst, most_writes = max(worst, oldest), max(most_writes, writes)
    assert worst < STALL_INTERVALS - 0.25
    assert most_writes <= 0.55  # every other cycle (one per interval of a failing or busy flow)


def test_anything_to_report_is_written_at_once() -> None:
    quiet = QuietWrites()
    now = START
    quiet.health_written("shop", "orders", INTERVAL, now, quiet=True)
    later = now + timedelta(seconds=1)
    assert not quiet.health_may_skip("shop", "orders", INTERVAL, later, quiet=False)  # counts or an error
    assert not quiet.health_may_skip("shop", "orders", INTERVAL * 2, later, quiet=True)  # a new interval
