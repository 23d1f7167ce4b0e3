"""The engine's ``Observer`` turned into Prometheus samples."""

from __future__ import annotations

from typing import Any

from daemon.clock import SYSTEM_CLOCK, Clock
from daemon.jobrunner import JobSpec
from daemon.monitor.health import FFN_CHANNEL
from daemon.monitor.metrics import SyncMetrics, default_metrics


class MetricsObserver:
    """Pass as ``MerchantContext(observer=MetricsObserver())``; one instance may serve every merchant."""

    def __init__(self, metrics: SyncMetrics | None = None, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.metrics = metrics or default_metrics()
        self.clock = clock

    def cycle_finished(
        self, merchant: str, channel: str, flow: str, counts: dict[str, int], duration_s: float, ok: bool
    ) -> None:
        finished_at = self.clock.now().timestamp()
        self.metrics.flows.cycle_finished((merchant, channel, flow), counts, duration_s, ok, finished_at)

    def cursor_lag(self, merchant: str, channel: str, flow: str, lag_s: float) -> None:
        self.metrics.flows.cursor_lag((merchant, channel, flow), lag_s)

    def order_exported(self, merchant: str, channel: str, latency_s: float) -> None:
        # A shop clock ahead of ours would give a negative latency; it is "immediately", not an error.
        self.metrics.channels.order_exported((merchant, channel), max(0.0, latency_s))


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
        self.metrics.flows.run_skipped((spec.merchant, spec.channel or FFN_CHANNEL, spec.flow))
