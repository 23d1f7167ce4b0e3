"""The engine's ``Observer`` turned into Prometheus samples."""

from __future__ import annotations

from typing import Any

from daemon.clock import SYSTEM_CLOCK, Clock
from daemon.jobrunner import JobSpec
from daemon.monitor.health import FFN_CHANNEL
from daemon.monitor.metrics import RECORD_COUNTS, SyncMetrics, default_metrics


class _FlowChildren:
    """The metric children of one (merchant, channel, flow)."""

    __slots__ = ("duration", "ok", "records")

    def __init__(self, m: SyncMetrics, labels: tuple[str, str, str]) -> None:
        self.ok = m.cycles.labels(*labels, "ok")
        self.duration = m.cycle_duration.labels(*labels)
        self.records = {name: m.records[name].labels(*labels) for name in RECORD_COUNTS}


class MetricsObserver:
    """Pass as ``MerchantContext(observer=MetricsObserver())``; one instance may serve every merchant."""

    def __init__(self, metrics: SyncMetrics | None = None, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.metrics = metrics or default_metrics()
        self.clock = clock
        # labels() is a lookup under a lock, nine per cycle of every flow: the steady ones are kept here.
        self._children: dict[tuple[str, str, str], _FlowChildren] = {}

    def cycle_finished(
        self, merchant: str, channel: str, flow: str, counts: dict[str, int], duration_s: float, ok: bool
    ) -> None:
        labels = (merchant, channel, flow)
        children = self._children.get(labels)
        if children is None:
            children = self._children[labels] = _FlowChildren(self.metrics, labels)
        if ok:
            children.ok.inc()
        else:
            self.metrics.cycles.labels(*labels, "failed").inc()
        children.duration.observe(max(0.0, duration_s))
        # Every counter of the flow has a child from the first cycle on (at 0 if need be), so rate() sees it.
        for name, value in counts.items():
            if value > 0:
                children.records[name].inc(value)
        if ok:
            # Not kept: the health watcher removes it for a flow that is no longer scheduled.
            self.metrics.last_success.labels(*labels).set(self.clock.now().timestamp())

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
