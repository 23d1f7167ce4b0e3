"""HTTP client statistics (``daemon.http.HttpStats``) turned into Prometheus samples."""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass

from daemon.http.stats import NO_RESPONSE, CallRecord, HttpStats
from daemon.monitor.metrics import SyncMetrics, default_metrics


def status_label(status: int) -> str:
    return "none" if status == NO_RESPONSE else str(status)


@dataclass
class _LastAttempt:
    attempt: int
    status: int


class ApiCallMetrics:
    """The ``HttpStats.on_call`` hook of one client (one upstream of one merchant).

    A retry is the next attempt of the same request. The attempts of one request run one after another
    in one asyncio task, so the task remembers its last attempt and that attempt's status is the cause
    of the retry; a 401 refresh repeats the attempt number and is therefore not counted as a retry.
    Rate-limiter waits are only summed in ``HttpStats``; each call moves their difference over.
    """

    def __init__(self, stats: HttpStats, upstream: str, merchant: str, metrics: SyncMetrics) -> None:
        self.stats = stats
        self.upstream = upstream
        self.merchant = merchant
        self.metrics = metrics
        self._last: weakref.WeakKeyDictionary[asyncio.Task[object], _LastAttempt] = (
            weakref.WeakKeyDictionary()
        )
        self._waits_seen = stats.rate_limit_waits
        self._wait_s_seen = stats.rate_limit_wait_s
        self._key = (merchant, upstream)
        metrics.upstreams.attached(self._key)  # duration and waits are exported (at 0) from now on

    def __call__(self, record: CallRecord) -> None:
        self.metrics.upstreams.call(self._key, record.method, status_label(record.status), record.elapsed_s)
        self._count_retry(record)
        self.sync_waits()

    def _count_retry(self, record: CallRecord) -> None:
        try:
            task: asyncio.Task[object] | None = asyncio.current_task()
        except RuntimeError:  # no running loop: nothing to tie attempts together
            task = None
        if task is None:
            if record.attempt > 1:
                self.metrics.upstreams.retry(self._key, "unknown")
            return
        previous = self._last.get(task)
        if record.attempt > 1 and previous is not None and previous.attempt == record.attempt - 1:
            self.metrics.upstreams.retry(self._key, status_label(previous.status))
        self._last[task] = _LastAttempt(record.attempt, record.status)

    def sync_waits(self) -> None:
        waits = self.stats.rate_limit_waits - self._waits_seen
        wait_s = self.stats.rate_limit_wait_s - self._wait_s_seen
        if waits > 0 or wait_s > 0:
            self.metrics.upstreams.waited(self._key, max(0, waits), max(0.0, wait_s))
            self._waits_seen += max(0, waits)
            self._wait_s_seen += max(0.0, wait_s)


def attach_http_metrics(
    stats: HttpStats, upstream: str, merchant: str, metrics: SyncMetrics | None = None
) -> ApiCallMetrics:
    """Count every request of the client owning ``stats``; attaching the same labels twice is a no-op."""
    chosen = metrics or default_metrics()
    for hook in stats.on_call:
        if (
            isinstance(hook, ApiCallMetrics)
            and hook.metrics is chosen
            and (hook.upstream, hook.merchant) == (upstream, merchant)
        ):
            return hook
    hook = ApiCallMetrics(stats, upstream, merchant, chosen)
    stats.on_call.append(hook)
    return hook
