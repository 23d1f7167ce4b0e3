"""HTTP client statistics (``daemon.http.HttpStats``) turned into Prometheus samples."""

from __future__ import annotations

from daemon.http.stats import NO_RESPONSE, CallRecord, HttpStats
from daemon.monitor.metrics import SyncMetrics, default_metrics


def status_label(status: int) -> str:
    return "none" if status == NO_RESPONSE else str(status)


class ApiCallMetrics:
    """The ``HttpStats.on_call`` hook of one client (one upstream of one merchant).

    A retry is the next attempt of the same request; the client says so in the record (``retry_of``: the
    status of the attempt it repeats, the cause of the retry). A 401 refresh repeats the attempt number and
    is therefore not counted as a retry. (This was worked out here from the asyncio task of each call, a
    weak-keyed map written on every request of a fleet.)
    Rate-limiter waits are only summed in ``HttpStats``; each call moves their difference over.
    """

    def __init__(self, stats: HttpStats, upstream: str, merchant: str, metrics: SyncMetrics) -> None:
        self.stats = stats
        self.upstream = upstream
        self.merchant = merchant
        self.metrics = metrics
        self._waits_seen = stats.rate_limit_waits
        self._wait_s_seen = stats.rate_limit_wait_s
        self._key = (merchant, upstream)
        metrics.upstreams.attached(self._key)  # duration and waits are exported (at 0) from now on

    def __call__(self, record: CallRecord) -> None:
        self.metrics.upstreams.call(self._key, record.method, status_label(record.status), record.elapsed_s)
        self._count_retry(record)
        self.sync_waits()

    def _count_retry(self, record: CallRecord) -> None:
        if record.retry_of is not None:
            self.metrics.upstreams.retry(self._key, status_label(record.retry_of))

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
