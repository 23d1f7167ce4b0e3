"""The engine's ``Observer`` turned into Prometheus samples."""

from __future__ import annotations

from typing import Any

from daemon.clock import SYSTEM_CLOCK, Clock
from daemon.jobrunner import JobSpec
from daemon.monitor.health import FFN_CHANNEL
from daemon.monitor.metrics import RECORD_COUNTS, SyncMetrics, default_metrics


class MetricsObserver:
    """Pass as ``MerchantContext(observer=MetricsObserver())``; one instance may serve every merchant."""

    def __init__(self, metrics: SyncMetrics | None = None, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.metrics = metrics or default_metrics()
        self.clock = clock

    def cycle_finished(
        self, merchant: str, channel: str, flow: str, counts: dict[str, int], duration_s: float, ok: bool
    ) -> None:
        m = self.metrics
        labels = (merchant, channel, flow)
        m.cycles.labels(*labels, "ok" if ok else "failed").inc()
        m.cycle_duration.labels(*labels).observe(max(0.0, duration_s))
        # Every counter of the flow gets a child, at 0 if need be, so rate() sees it from the first cycle.
        for name in RECORD_COUNTS:
            m.records[name].labels(*labels).inc(max(0, counts.get(name, 0)))
        if ok:
            m.last_success.labels(*labels).set(self.clock.now().timestamp())

    def cursor_lag(self, merchant: str, channel: str, flow: str, lag_s: float) -> None:
        self.metrics.cursor_lag.labels(merchant, channel, flow).set(max(0.0, lag_s))

    def order_exported(self, merchant: str, channel: str, latency_s: float) -> None:
        # A shop clock ahead of ours would give a negative latency; it is "immediately", not an error.
        self.metrics.order_latency.labels(merchant, channel).observe(max(0.0, latency_s))


class SchedulerMetrics:
    """The scheduler's ``SchedulerObserver``: lateness and skipped runs as Prometheus samples."""

    def __init__(self, metrics: SyncMetrics | None = None) -> None:
        self.metrics = metrics or default_metrics()
        self._lateness: dict[
            str, Any
        ] = {}  # flow -> its histogram child (labels() costs a lookup and a lock)

    def run_started(self, spec: JobSpec, lateness_s: float) -> None:
        child = self._lateness.get(spec.flow)
        if child is None:
            child = self._lateness[spec.flow] = self.metrics.scheduler_lateness.labels(spec.flow)
        child.observe(max(0.0, lateness_s))

    def run_skipped(self, spec: JobSpec) -> None:
        self.metrics.scheduler_skipped.labels(spec.merchant, spec.channel or FFN_CHANNEL, spec.flow).inc()
