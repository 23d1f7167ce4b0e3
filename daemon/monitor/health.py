"""Where /healthz and the stall watcher learn each flow's state: the ``flow_health`` table.

Reading Postgres (not in-process counters) keeps ``/healthz``, ``ffn-sync status`` and the stall
watcher on one rule, ``daemon.engine.reports.flow_statuses``: stalled = no successful cycle within
``STALL_INTERVALS`` intervals.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import asyncpg

from daemon.clock import SYSTEM_CLOCK, Clock
from daemon.engine.reports import STALL_INTERVALS, FlowStatus, flow_statuses

if TYPE_CHECKING:
    from daemon.scheduler import SyncScheduler

FlowKey = tuple[str, str, str]  # merchant, channel, flow
FFN_CHANNEL = "ffn"
# The merchants this instance runs now and since when (``Ownership.owned_since``); None: every merchant
# (a process that does not share the merchants with other instances).
OwnedMerchants = Callable[[], Mapping[str, datetime] | None]


class HealthSource(Protocol):
    async def flow_statuses(self) -> list[FlowStatus]: ...


class PostgresHealth:
    """``flow_statuses`` of the flows this process runs.

    ``flows`` returns the (merchant, channel, flow) keys currently scheduled; rows of merchants, channels
    or flows no longer configured are then ignored instead of reporting a stall forever. Without it every
    row counts.

    ``owned``: with several instances on one Postgres each judges only the merchants it owns right now
    (``flow_health`` rows are per merchant, shared by all), so a stall is reported once, by the instance
    that can do something about it, and its /healthz says whether *it* works. A merchant it took over
    is judged from the take-over on (see ``since_takeover``).
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        clock: Clock = SYSTEM_CLOCK,
        flows: Callable[[], Collection[FlowKey]] | None = None,
        owned: OwnedMerchants | None = None,
    ) -> None:
        self.pool = pool
        self.clock = clock
        self.flows = flows
        self.owned = owned

    async def flow_statuses(self) -> list[FlowStatus]:
        now = self.clock.now()
        statuses = await flow_statuses(self.pool, now)
        if self.flows is not None:
            wanted = set(self.flows())
            statuses = [s for s in statuses if (s.merchant, s.channel, s.flow) in wanted]
        owned = self.owned() if self.owned is not None else None
        if owned is None:
            return statuses
        return [since_takeover(s, owned[s.merchant], now) for s in statuses if s.merchant in owned]


def since_takeover(status: FlowStatus, taken_at: datetime, now: datetime) -> FlowStatus:
    """``status`` as judged by an owner that took the merchant at ``taken_at``: the stall clock starts at
    the last success or the take-over, whichever is later. The failures and the silence of the old owner
    (or of the time nobody owned it) are the old owner's story; this one gets its own STALL_INTERVALS."""
    if not status.stalled or now - taken_at > STALL_INTERVALS * timedelta(seconds=status.interval_s):
        return status
    return dataclasses.replace(status, stalled=False)


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
