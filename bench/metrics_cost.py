"""Micro-bench of the Prometheus metrics of a fleet: ``python -m bench.metrics_cost``.

Fills one ``SyncMetrics`` as ``--merchants`` merchants would through the daemon's own hooks: 3 shop
channels each with the real flows (products on the product master, orders and stock per channel;
shipments, status, stock, reconcile and purge under ``ffn``: 12 flows), two cycles per flow (one with
record counts), cursor lags, a health-watcher pass over every flow, HTTP calls on four upstreams per
merchant, a skipped run on every tenth flow and order latencies for 5 % of the merchants. Then prints
what it costs: memory (tracemalloc, RSS) and CPU per scrape (``/metrics`` text). Uses only the hooks
the daemon calls, so the same file measures an older checkout (``PYTHONPATH=<checkout>``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from typing import Any

from daemon.engine.reports import FlowStatus
from daemon.http.stats import CallRecord, HttpStats
from daemon.monitor import HealthWatcher, MetricsObserver, SchedulerMetrics, SyncMetrics, attach_http_metrics

CHANNELS = (("shopify-main", "shopify"), ("shopware-main", "shopware"), ("woo-main", "woocommerce"))
FFN_FLOWS = ("shipments", "status", "stock", "reconcile", "purge")
NEWLINE = b"\n"
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def flows_of(merchant: str) -> list[tuple[str, str, str]]:
    keys = [(merchant, CHANNELS[0][0], "products")]
    for channel, _ in CHANNELS:
        keys += [(merchant, channel, "orders"), (merchant, channel, "stock")]
    return keys + [(merchant, "ffn", flow) for flow in FFN_FLOWS]


class _Statuses:
    def __init__(self, statuses: list[FlowStatus]) -> None:
        self.statuses = statuses

    async def flow_statuses(self) -> list[FlowStatus]:
        return self.statuses


class _Spec:
    def __init__(self, merchant: str, channel: str, flow: str) -> None:
        self.merchant, self.channel, self.flow = merchant, channel, flow


def fill(metrics: SyncMetrics, merchants: int) -> tuple[int, list[Any]]:
    observer = MetricsObserver(metrics)
    scheduler = SchedulerMetrics(metrics)
    statuses: list[FlowStatus] = []
    keep: list[Any] = []
    keys = 0
    for m in range(merchants):
        merchant = f"merchant-{m:04d}"
        for index, (_, channel, flow) in enumerate(flows_of(merchant)):
            keys += 1
            observer.cycle_finished(
                merchant, channel, flow, {"pulled": 3, "changed": 1, "pushed": 1}, 0.2, True
            )
            observer.cycle_finished(merchant, channel, flow, {}, 0.04, True)
            observer.cursor_lag(merchant, channel, flow, 5.0)
            if index % 10 == 0:
                scheduler.run_skipped(_Spec(merchant, channel, flow))  # type: ignore[arg-type]
            statuses.append(
                FlowStatus(
                    merchant, channel, flow, NOW, NOW, 5.0, 0, 0, 0, NOW + timedelta(seconds=60), None, False
                )
            )
        for upstream in ("ffn", *(kind for _, kind in CHANNELS)):
            stats = HttpStats()
            keep.append(stats)
            attach_http_metrics(stats, upstream, merchant, metrics)
            stats.record_call(CallRecord(upstream, "GET", 200, 0.05, 1))
            stats.record_call(CallRecord(upstream, "POST", 201, 0.08, 1))
        if m % 20 == 0:
            for channel, _ in CHANNELS:
                observer.order_exported(merchant, channel, 30.0)
    asyncio.run(HealthWatcher(_Statuses(statuses), metrics).check())
    return keys, keep


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 1e6


def render(metrics: SyncMetrics) -> bytes:
    page = getattr(metrics, "render", None)
    if page is not None:
        return bytes(page())
    from prometheus_client import generate_latest

    return generate_latest(metrics.registry)


def scrape_peak(metrics: SyncMetrics, *, streamed: bool = False) -> float:
    """MB allocated at the highest point of one scrape (the render's own, what it holds at once)."""
    gc.collect()
    tracemalloc.start()
    if streamed:
        for _ in metrics.render_chunks():
            pass
    else:
        render(metrics)
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.metrics_cost", description=__doc__)
    parser.add_argument("--merchants", type=int, default=1000)
    parser.add_argument("--scrapes", type=int, default=3)
    parser.add_argument("--no-tracemalloc", action="store_true", help="RSS only (tracemalloc slows filling)")
    args = parser.parse_args()
    try:
        from prometheus_client import disable_created_metrics

        disable_created_metrics()  # type: ignore[no-untyped-call]  # as the daemon does
    except ImportError:
        pass
    gc.collect()
    rss_0 = rss_mb()
    if not args.no_tracemalloc:
        tracemalloc.start()
    metrics = SyncMetrics()
    keys, keep = fill(metrics, args.merchants)
    gc.collect()
    traced = tracemalloc.get_traced_memory()[0] / 1e6 if tracemalloc.is_tracing() else float("nan")
    tracemalloc.stop()
    rss_1 = rss_mb()
    cpu: list[float] = []
    body = b""
    for _ in range(args.scrapes):
        started = time.process_time()
        body = render(metrics)
        cpu.append(time.process_time() - started)
    print(
        f"merchants={args.merchants} flow label sets={keys} held by the metrics: tracemalloc {traced:.1f} MB,"
        f" RSS +{rss_1 - rss_0:.1f} MB (RSS after scrapes {rss_mb():.0f} MB)\n"
        f"scrape: {body.count(NEWLINE)} lines, {len(body) / 1e6:.1f} MB, CPU per scrape min {min(cpu):.3f} s"
        f" (all: {', '.join(f'{c:.3f}' for c in cpu)})"
    )
    del body
    print(
        f"memory allocated at once during one scrape (tracemalloc peak): whole text {scrape_peak(metrics):.1f} MB"
    )
    if hasattr(metrics, "render_chunks"):
        print(f"  streamed in chunks as /metrics sends it: {scrape_peak(metrics, streamed=True):.1f} MB")
    del keep


if __name__ == "__main__":
    main()
