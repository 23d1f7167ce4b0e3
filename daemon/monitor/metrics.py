"""Every Prometheus metric ffn-sync exposes, on a registry of its own.

A dedicated ``CollectorRegistry`` (not prometheus-client's global one) keeps the process free of
import-time side effects and lets tests build as many independent sets as they like. The process uses
``default_metrics()``; ``METRIC_NAMES`` is the documented contract the dashboard and alert rules rely on.

Labels: ``merchant`` (merchant id), ``channel`` (shop channel name, or ``ffn`` for the FFN feeds),
``flow`` (orders, products, shipments, status, stock, reconcile), ``upstream`` (the API a client talks
to), ``status`` (HTTP status, ``none`` when no answer arrived), ``outcome`` (``ok`` / ``failed``).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from daemon.monitor.channels import ORDER_LATENCY_BUCKETS, ChannelTable
from daemon.monitor.exposition import PREFIX, in_chunks
from daemon.monitor.flows import (
    CYCLE_DURATION_BUCKETS,
    FLOW_LABELS,
    RECORD_COUNTS,
    TRIGGER_DELAY_BUCKETS,
    FlowTable,
)
from daemon.monitor.upstreams import API_DURATION_BUCKETS, API_LABELS, UpstreamTable
from daemon.secrets import registry_size

__all__ = [
    "API_DURATION_BUCKETS",
    "API_LABELS",
    "CYCLE_DURATION_BUCKETS",
    "FLOW_LABELS",
    "METRIC_NAMES",
    "ORDER_LATENCY_BUCKETS",
    "PREFIX",
    "RECORD_COUNTS",
    "TRIGGER_DELAY_BUCKETS",
    "SyncMetrics",
    "default_metrics",
]


# A run's start after its planned fire time: ms on an idle loop, the target is 1 s at p99.
LATENESS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

RENDER_CHUNK_BYTES = 256 * 1024


class SyncMetrics:
    """The metric objects; ``registry`` holds every family, ``render()`` is the ``/metrics`` page.

    The series a fleet has thousands of live in tables of plain numbers rendered at scrape time
    (``flows``: per merchant, channel and flow; ``channels``: per merchant and shop channel;
    ``upstreams``: per merchant and HTTP upstream); the families with few series are prometheus-client
    objects on a registry of their own (``plain``), which ``registry`` includes.
    """

    def __init__(self) -> None:
        self.plain = r = CollectorRegistry(auto_describe=True)
        p = PREFIX
        self.health_check_errors = Counter(
            f"{p}health_check_errors", "Failed reads of the flow health from Postgres", registry=r
        )
        # By flow only: a fleet's merchants share one loop, so per-merchant series would only repeat it.
        self.scheduler_lateness = Histogram(
            f"{p}scheduler_lateness_seconds",
            "Scheduled run started -> its planned (spread) fire time",
            ("flow",),
            buckets=LATENESS_BUCKETS,
            registry=r,
        )
        # Read when scraped: costs nothing in between. Flat over days once every token has rotated a few
        # times (daemon.secrets forgets replaced tokens after a grace period).
        self.redaction_values = Gauge(
            f"{p}redaction_values",
            "Values the log redaction masks: configured secrets plus current and recently replaced tokens",
            registry=r,
        )
        self.redaction_values.set_function(registry_size)

        self.flows = FlowTable()
        self.upstreams = UpstreamTable()
        # merchant/channel are "-" when a webhook URL named none we serve: labels never take unknown path parts.
        self.channels = ChannelTable()
        self.registry = CollectorRegistry(auto_describe=True)
        for collector in (self.plain, self.flows, self.channels, self.upstreams):
            self.registry.register(collector)

    def render(self) -> bytes:
        """``/metrics`` in the Prometheus text format: what ``generate_latest(registry)`` writes, faster."""
        return b"".join(self.render_chunks())

    def render_chunks(self, size: int = RENDER_CHUNK_BYTES) -> Iterator[bytes]:
        """``render()`` in chunks of about ``size`` bytes, made as they are asked for: a fleet's whole text
        (~300,000 lines) held at once raised RSS by ~100 MB at every scrape."""
        yield generate_latest(self.plain)
        for table in (self.flows, self.channels, self.upstreams):
            yield from in_chunks(table.pieces(), size)

    def exposed_labels(self) -> set[str]:
        """Every label name ``/metrics`` can contain."""
        labels = {
            "le",
            *self.flows.label_names(),
            *self.channels.label_names(),
            *self.upstreams.label_names(),
        }
        for value in vars(self).values():
            labels |= set(getattr(value, "_labelnames", ()))  # prometheus-client keeps them privately
        return labels

    def exposed_names(self) -> set[str]:
        """Every sample name ``/metrics`` can contain (``_total``, ``_bucket``, … included)."""
        names: set[str] = set()
        for family in self.registry.collect():
            names.add(family.name)
            if family.type == "counter":
                names |= {f"{family.name}_total", f"{family.name}_created"}
            elif family.type == "histogram":
                names |= {f"{family.name}_{s}" for s in ("bucket", "count", "sum", "created")}
        return names


# Documented contract: sample names as they appear on /metrics.
METRIC_NAMES = {
    "ffn_sync_cycles_total": "cycles finished, by merchant/channel/flow/outcome (ok|failed)",
    "ffn_sync_cycle_duration_seconds": "histogram of cycle wall time",
    **{f"ffn_sync_records_{n}_total": f"records {n}, per flow" for n in RECORD_COUNTS},
    "ffn_sync_pending_records": "queue backlog per flow (from Postgres)",
    "ffn_sync_dead_letters": "parked records per flow (from Postgres)",
    "ffn_sync_cursor_lag_seconds": "delta cursor behind now",
    "ffn_sync_last_success_timestamp_seconds": "unix time of the last successful cycle",
    "ffn_sync_consecutive_failures": "failed cycles in a row",
    "ffn_sync_flow_stalled": "1 while a flow is stalled (no success within 3 intervals)",
    "ffn_sync_order_export_latency_seconds": "histogram: shop order created -> FFN outbound created",
    "ffn_sync_api_calls_total": "HTTP attempts by merchant/upstream/method/status",
    "ffn_sync_api_call_duration_seconds": "histogram of HTTP attempt time per upstream",
    "ffn_sync_api_retries_total": "HTTP retries by merchant/upstream and the status that caused them",
    "ffn_sync_rate_limit_waits_total": "requests that waited for the rate limiter",
    "ffn_sync_rate_limit_wait_seconds_total": "seconds spent waiting for the rate limiter",
    "ffn_sync_health_check_errors_total": "failed reads of flow health from Postgres",
    "ffn_sync_webhook_deliveries_total": "authenticated webhook deliveries by merchant/channel/topic",
    "ffn_sync_webhook_duplicates_total": "deliveries seen before (same delivery id): no trigger",
    "ffn_sync_webhook_rejects_total": "refused deliveries by merchant/channel/reason",
    "ffn_sync_webhook_last_delivery_timestamp_seconds": "unix time of the channel's last delivery",
    "ffn_sync_webhook_trigger_delay_seconds": "histogram: first delivery of a burst -> the run reading up to now",
    "ffn_sync_webhook_registered": "1 while the channel's webhooks are registered as configured",
    "ffn_sync_redaction_values": "values the log redaction masks (secrets, current and recently replaced tokens)",
    "ffn_sync_scheduler_lateness_seconds": "histogram by flow: a scheduled run's start minus its planned fire time",
    "ffn_sync_scheduler_skipped_runs_total": "scheduled runs skipped: the previous run outlived its interval",
}

_default: SyncMetrics | None = None


def default_metrics() -> SyncMetrics:
    """The process-wide set, created on first use."""
    global _default
    if _default is None:
        _default = SyncMetrics()
    return _default
