"""The fleet bench's p99 of scheduler lateness, read from two /metrics pages as Prometheus would."""

from __future__ import annotations

import math

from prometheus_client import generate_latest

from bench import promtext
from daemon.monitor import SyncMetrics

NAME = "ffn_sync_scheduler_lateness_seconds"


def _page(metrics: SyncMetrics) -> str:
    return generate_latest(metrics.registry).decode()


def test_p99_counts_only_what_was_observed_between_the_two_reads_over_every_flow() -> None:
    metrics = SyncMetrics()
    lateness = metrics.scheduler_lateness
    for _ in range(1000):  # the warm-up's start-up burst: late, and not in the window
        lateness.labels("orders").observe(30)
    before = _page(metrics)
    for _ in range(495):
        lateness.labels("orders").observe(0.002)
        lateness.labels("stock").observe(0.002)
    for _ in range(10):
        lateness.labels("stock").observe(0.8)  # 1 % of the window, in the (0.5, 1] bucket
    after = _page(metrics)

    p99 = promtext.quantile(0.99, promtext.buckets(before, NAME), promtext.buckets(after, NAME))
    assert 0.001 < p99 <= 0.0025  # the 990th of 1000: the last of the fast ones (in (0.001, 0.0025])
    p999 = promtext.quantile(0.999, promtext.buckets(before, NAME), promtext.buckets(after, NAME))
    assert 0.5 < p999 <= 1
    assert math.isnan(promtext.quantile(0.99, promtext.buckets(after, NAME), promtext.buckets(after, NAME)))


def test_a_quantile_beyond_the_last_bucket_is_the_largest_bound() -> None:
    metrics = SyncMetrics()
    before = _page(metrics)
    metrics.scheduler_lateness.labels("orders").observe(500)
    after = _page(metrics)
    assert promtext.quantile(0.99, promtext.buckets(before, NAME), promtext.buckets(after, NAME)) == 60


def test_counter_total_sums_every_label_set() -> None:
    metrics = SyncMetrics()
    for key in (("a", "shop", "orders"), ("a", "shop", "orders"), ("b", "ffn", "stock")):
        metrics.flows.run_skipped(key)
    assert promtext.total(_page(metrics), "ffn_sync_scheduler_skipped_runs_total") == 3
