"""Where /healthz and the stall watcher learn each flow's state: the ``flow_health`` table.

Reading Postgres (not in-process counters) keeps ``/healthz``, ``ffn-sync status`` and the stall
watcher on one rule, ``daemon.engine.reports.flow_statuses``: stalled = no successful cycle within
``STALL_INTERVALS`` intervals.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import asyncpg

from daemon.clock import SYSTEM_CLOCK, Clock
from daemon.engine.reports import FlowStatus, flow_statuses

if TYPE_CHECKING:
    from daemon.scheduler import SyncScheduler

FlowKey = tuple[str, str, str]  # merchant, channel, flow
FFN_CHANNEL = "ffn"


class HealthSource(Protocol):
    async def flow_statuses(self) -> list[FlowStatus]: ...


class PostgresHealth:
    """``flow_statuses`` of the flows this process runs.

    ``flows`` returns the (merchant, channel, flow) keys currently scheduled; rows of merchants, channels
    or flows no longer configured (or owned by another instance) are then ignored instead of reporting a
    stall forever. Without it every row counts.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        clock: Clock = SYSTEM_CLOCK,
        flows: Callable[[], Collection[FlowKey]] | None = None,
    ) -> None:
        self.pool = pool
        self.clock = clock
        self.flows = flows

    async def flow_statuses(self) -> list[FlowStatus]:
        statuses = await flow_statuses(self.pool, self.clock.now())
        if self.flows is None:
            return statuses
        wanted = set(self.flows())
        return [s for s in statuses if (s.merchant, s.channel, s.flow) in wanted]


def scheduled_flows(scheduler: SyncScheduler) -> set[FlowKey]:
    """The flow keys of the scheduler's jobs, spelled as ``flow_health`` spells them."""
    return {(r.spec.merchant, r.spec.channel or FFN_CHANNEL, r.spec.flow) for r in scheduler.runners.values()}


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def describe(status: FlowStatus) -> dict[str, Any]:
    return {
        "merchant": status.merchant,
        "channel": status.channel,
        "flow": status.flow,
        "last_success_at": _iso(status.last_success_at),
        "last_run_at": _iso(status.last_run_at),
        "consecutive_failures": status.consecutive_failures,
        "last_error": status.last_error,
    }


def health_document(statuses: Iterable[FlowStatus]) -> tuple[bool, dict[str, Any]]:
    """(healthy, JSON body) for /healthz."""
    statuses = list(statuses)
    stalled = [describe(s) for s in statuses if s.stalled]
    body = {"status": "stalled" if stalled else "ok", "flows": len(statuses), "stalled": stalled}
    return not stalled, body
