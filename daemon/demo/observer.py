"""An engine ``Observer`` that keeps what the demo reports and logs a line when an order reaches FFN."""

from __future__ import annotations

from collections import Counter


class DemoObserver:
    """``daemon.engine.observer.Observer``: order→FFN latencies and per-flow counts, in memory."""

    def __init__(self) -> None:
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

    def cursor_lag(self, merchant: str, channel: str, flow: str, lag_s: float) -> None:
        return None

    def order_exported(self, merchant: str, channel: str, latency_s: float) -> None:
        self.order_latencies_s.append(max(0.0, latency_s))
