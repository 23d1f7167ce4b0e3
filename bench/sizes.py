"""How big each scenario runs. ``small`` is the default and must finish every scenario in under 5 minutes on
2 cores; ``full`` is the size the performance budget (DESIGN.md) speaks of; ``tiny`` keeps the smoke test fast."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Size:
    name: str
    throughput_orders: int  # orders → FFN in one backlog (also the world the idle re-sync re-reads)
    memory_orders: int  # N; the memory scenario compares N with 10 × N (products and orders)
    latency_seconds: float  # how long the steady stream runs
    latency_rate: float  # orders per second in the steady stream
    latency_interval_s: float  # polling interval of every flow during the latency scenario
    ratelimit_orders: int  # Shopify backlog
    calls_orders: int  # per shop kind: orders exported and shipped back while calls are counted
    catchup_orders: int = 10_000  # Shopify backlog caught up through one bulk operation
    throughput_runs: int = (
        3  # measured backlogs per figure (median and spread); BENCH_THROUGHPUT_RUNS overrides
    )


SIZES = {
    "tiny": Size("tiny", 20, 10, 8.0, 2.0, 2.0, 20, 10, catchup_orders=20, throughput_runs=2),
    "small": Size("small", 2000, 200, 40.0, 5.0, 5.0, 250, 200, catchup_orders=2000),
    "full": Size("full", 10_000, 10_000, 180.0, 5.0, 30.0, 5000, 2000),
}
