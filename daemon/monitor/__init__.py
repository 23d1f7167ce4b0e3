"""Monitoring: Prometheus metrics, /healthz, and the stall watcher.

Wiring (a few lines in the lifecycle and the runtime factory)::

    observer = MetricsObserver()                                  # MerchantContext(observer=observer)
    attach_http_metrics(client.stats, upstream="ffn", merchant="acme")   # per HTTP client
    health = PostgresHealth(db.pool, flows=lambda: scheduled_flows(scheduler))
    monitor = await start_monitor(config.metrics, health)     # after migrations, before READY
    ...
    await monitor.aclose()

Metric names: ``daemon.monitor.metrics.METRIC_NAMES`` (and ops/RUNBOOK.md).
"""

from daemon.monitor.api_calls import ApiCallMetrics, attach_http_metrics
from daemon.monitor.health import HealthSource, PostgresHealth, health_document, scheduled_flows
from daemon.monitor.metrics import METRIC_NAMES, SyncMetrics, default_metrics
from daemon.monitor.observer import MetricsObserver, SchedulerMetrics
from daemon.monitor.server import MonitorServer, MonitorStartError, make_monitor_app, start_monitor
from daemon.monitor.watcher import HealthWatcher

__all__ = [
    "METRIC_NAMES",
    "ApiCallMetrics",
    "HealthSource",
    "HealthWatcher",
    "MetricsObserver",
    "MonitorServer",
    "MonitorStartError",
    "PostgresHealth",
    "SchedulerMetrics",
    "SyncMetrics",
    "attach_http_metrics",
    "default_metrics",
    "health_document",
    "make_monitor_app",
    "scheduled_flows",
    "start_monitor",
]
