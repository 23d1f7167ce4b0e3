"""An engine ``Observer`` that keeps what the demo reports and logs a line when an order reaches FFN."""

from __future__ import annotations

from collections import Counter
from typing import Any


class DemoObserver:
    """``daemon.engine.observer.Observer``: order→FFN latencies and per-flow counts, in memory; every call is
    passed on to ``inner`` (the metrics observer) so ``/metrics`` keeps working during the demo."""

    def __init__(self, inner: Any = None) -> None:
        self.inner = inner
        self.order_latencies_s: list[float] = []
        self.flow_counts: Counter[str] = Counter()
        self.failed_cycles = 0

    def cycle_finished(
        self, merchant: str, channel: str, flow: str, counts: dict[str, int], duration_s: float, ok: bool
    ) -> None:
        for key, value in counts.items():
            if isinstance(value, int):
                self.flow_counts[f"{flow}.{key}"] += value
        if not ok:
            self.failed_cycles += 1
        if self.inner is not None:
            self.inner.cycle_finished(merchant, channel, flow, counts, duration_s, ok)

    def cursor_lag(self, merchant: str, channel: str, flow: str, lag_s: float) -> None:
        if self.inner is not None:
            self.inner.cursor_lag(merchant, channel, flow, lag_s)

    def order_exported(self, merchant: str, channel: str, latency_s: float) -> None:
        self.order_latencies_s.append(max(0.0, latency_s))
        if self.inner is not None:
            self.inner.order_exported(merchant, channel, latency_s)
