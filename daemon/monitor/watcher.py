"""Periodic look at every flow's health: refreshes the Postgres-backed gauges and reports stalls.

A flow that becomes stalled gets ONE ERROR line (what, since when, the last error, what to do); its
recovery gets one INFO line. The first look happens one period after start, so flows that were merely
waiting for their first cycle after a restart are not reported.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime

from loguru import logger

from daemon.clock import SYSTEM_CLOCK, Clock
from daemon.engine.reports import STALL_INTERVALS, FlowStatus
from daemon.monitor.health import FlowKey, HealthSource
from daemon.monitor.metrics import SyncMetrics, default_metrics
from daemon.secrets import redact

WATCH_INTERVAL_S = 30.0
_SHOP_CREDENTIAL_HINTS = ("credentials rejected", "unauthorized", "forbidden", "401", "403")


def _key(status: FlowStatus) -> FlowKey:
    return (status.merchant, status.channel, status.flow)


def _span(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _when(at: datetime | None) -> str:
    return "never" if at is None else at.strftime("%Y-%m-%d %H:%M:%SZ")


def operator_hint(status: FlowStatus) -> str:
    path = f"{status.merchant}/{status.channel}/{status.flow}"
    error = (status.last_error or "").lower()
    if "invalid_client" in error:
        return (
            f"fix ffn.client_id / ffn.client_secret of merchant {status.merchant},"
            " then `systemctl reload ffn-sync`"
        )
    if "invalid_grant" in error or "ffn-login" in error:
        return f"renew the FFN consent: `ffn-sync ffn-login --merchant {status.merchant}`"
    if status.channel != "ffn" and any(word in error for word in _SHOP_CREDENTIAL_HINTS):
        return (
            f"the shop refused the credentials: fix [channels.credentials] of {status.channel} in the"
            " config, then `systemctl reload ffn-sync`"
        )
    return f"see `ffn-sync status` and `journalctl -u ffn-sync | grep {path}`"


class HealthWatcher:
    def __init__(
        self,
        health: HealthSource,
        metrics: SyncMetrics | None = None,
        *,
        clock: Clock = SYSTEM_CLOCK,
        interval_s: float = WATCH_INTERVAL_S,
    ) -> None:
        self.health = health
        self.metrics = metrics or default_metrics()
        self.clock = clock
        self.interval_s = interval_s
        self.stalled_since: dict[FlowKey, datetime] = {}  # when this process first saw the stall
        self._known: set[FlowKey] = set()
        self._failing = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="ffn-sync-health-watcher")

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while True:
            await self.clock.sleep(self.interval_s)
            await self.check()

    async def check(self) -> list[FlowStatus]:
        """One look: refresh gauges, log stall transitions. Never raises (except cancellation)."""
        try:
            statuses = await self.health.flow_statuses()
        except Exception as exc:
            self.metrics.health_check_errors.inc()
            if not self._failing:
                logger.warning(
                    "health check could not read flow health from Postgres: {}: {}; /healthz answers 503",
                    type(exc).__name__,
                    redact(str(exc)),
                )
            self._failing = True
            return []
        if self._failing:
            logger.info("health check reads Postgres again")
            self._failing = False
        self._refresh_gauges(statuses)
        self._report_transitions(statuses)
        return statuses

    def _refresh_gauges(self, statuses: list[FlowStatus]) -> None:
        flows = self.metrics.flows
        current = {_key(s) for s in statuses}
        # A flow no longer run here (removed on reload, or its merchant now owned by another instance)
        # leaves /metrics with all its series: the instance that runs it reports them.
        gone = self._known - current
        flows.forget(gone)
        merchants_gone = {k[0] for k in gone} - {k[0] for k in current}
        self.metrics.upstreams.forget_merchants(merchants_gone)
        self.metrics.channels.forget_merchants(merchants_gone)
        self._known = current
        for s in statuses:
            flows.health(
                _key(s),
                pending=s.pending,
                dead_letters=s.failed,
                consecutive_failures=s.consecutive_failures,
                stalled=s.stalled,
                cursor_lag_s=s.cursor_lag_s,
                last_success=None if s.last_success_at is None else s.last_success_at.timestamp(),
            )

    def _report_transitions(self, statuses: list[FlowStatus]) -> None:
        now = self.clock.now()
        seen = {_key(s): s for s in statuses}
        for key in [k for k in self.stalled_since if k not in seen]:
            del self.stalled_since[key]  # no longer scheduled here: nothing left to recover
        for key, s in seen.items():
            if s.stalled and key not in self.stalled_since:
                self.stalled_since[key] = now
                self._log_stall(s, now)
            elif not s.stalled and key in self.stalled_since:
                since = self.stalled_since.pop(key)
                with logger.contextualize(merchant=s.merchant, channel=s.channel, flow=s.flow):
                    logger.info(
                        "{} shop={}/{} recovered: successful cycle at {}, reported stalled for {}",
                        s.flow,
                        s.merchant,
                        s.channel,
                        _when(s.last_success_at),
                        _span((now - since).total_seconds()),
                    )

    def _log_stall(self, s: FlowStatus, now: datetime) -> None:
        if s.last_success_at is None:
            since = f"no successful cycle yet ({s.consecutive_failures} failed since the first)"
        else:
            ago = _span((now - s.last_success_at).total_seconds())
            since = f"no successful cycle since {_when(s.last_success_at)} ({ago} ago)"
        error = redact(s.last_error) if s.last_error else "none recorded (cycles may not be running)"
        with logger.contextualize(merchant=s.merchant, channel=s.channel, flow=s.flow):
            logger.error(
                "{} shop={}/{} STALLED: {}, limit {} intervals; {} failure(s) in a row; last error: {}."
                " Next step: {}",
                s.flow,
                s.merchant,
                s.channel,
                since,
                STALL_INTERVALS,
                s.consecutive_failures,
                error,
                operator_hint(s),
            )
