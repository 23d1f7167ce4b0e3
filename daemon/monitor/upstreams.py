"""The HTTP client series, one small record per (merchant, upstream), rendered at scrape time.

A fleet merchant has four upstreams (FFN and three shops): as prometheus-client children their calls,
an 11-bucket duration histogram and the rate-limiter counters were ~6 KB per upstream and a fifth of a
1,000-merchant scrape's CPU. Same locking as ``daemon.monitor.flows``: updates and per-upstream copies
under one lock, text written from the copies.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric

from daemon.monitor.exposition import (
    PREFIX,
    HistogramSpec,
    MerchantTable,
    family_header,
    labels_text,
    number,
    split_at_le,
)

API_LABELS = ("merchant", "upstream")
UpstreamKey = tuple[str, str]  # merchant, upstream
API_DURATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
API_CALL_DURATION = HistogramSpec(
    f"{PREFIX}api_call_duration_seconds",
    "Time from sending a request to its full answer",
    API_DURATION_BUCKETS,
)
CALLS = (f"{PREFIX}api_calls", "HTTP requests sent (every attempt) by answer status")
RETRIES = (
    f"{PREFIX}api_retries",
    "Requests repeated by the HTTP client, by the status that caused the retry",
)
WAITS = (f"{PREFIX}rate_limit_waits", "Requests that had to wait for the rate limiter")
WAIT_SECONDS = (f"{PREFIX}rate_limit_wait_seconds", "Time spent waiting for the rate limiter")


class UpstreamValues:
    """One client's values. The duration and rate-limiter series exist (at 0) from the client's attach on,
    a calls or retries series from its first occurrence."""

    __slots__ = ("calls", "duration", "retries", "wait_s", "waits")

    def __init__(self) -> None:
        self.calls: dict[tuple[str, str], float] = {}  # (method, status) -> attempts
        self.retries: dict[str, float] = {}  # status that caused the retry -> retries
        self.duration = API_CALL_DURATION.new()
        self.waits = 0.0
        self.wait_s = 0.0

    def copy(self) -> UpstreamValues:
        twin = UpstreamValues.__new__(UpstreamValues)
        twin.calls = dict(self.calls)
        twin.retries = dict(self.retries)
        twin.duration = self.duration[:]
        twin.waits, twin.wait_s = self.waits, self.wait_s
        return twin


class UpstreamTable(MerchantTable[UpstreamKey, UpstreamValues]):
    def __init__(self) -> None:
        super().__init__(UpstreamValues)

    # -- updates (the event loop) --

    def attached(self, key: UpstreamKey) -> None:
        with self._lock:
            self._slot(key)

    def call(self, key: UpstreamKey, method: str, status: str, elapsed_s: float) -> None:
        with self._lock:
            slot = self._slot(key)
            slot.calls[(method, status)] = slot.calls.get((method, status), 0.0) + 1
            API_CALL_DURATION.observe(slot.duration, max(0.0, elapsed_s))

    def retry(self, key: UpstreamKey, status: str) -> None:
        with self._lock:
            slot = self._slot(key)
            slot.retries[status] = slot.retries.get(status, 0.0) + 1

    def waited(self, key: UpstreamKey, waits: int, seconds: float) -> None:
        with self._lock:
            slot = self._slot(key)
            slot.waits += waits
            slot.wait_s += seconds

    # -- reads (the render thread) --

    def label_names(self) -> set[str]:
        return {*API_LABELS, "method", "status"}

    def describe(self) -> Iterable[Metric]:
        return self._families([])

    def collect(self) -> Iterable[Metric]:
        return self._families(self.snapshot())

    def _families(self, rows: list[tuple[UpstreamKey, UpstreamValues]]) -> Iterator[Metric]:
        calls = CounterMetricFamily(*CALLS, labels=(*API_LABELS, "method", "status"))
        duration = HistogramMetricFamily(
            API_CALL_DURATION.name, API_CALL_DURATION.documentation, labels=API_LABELS
        )
        retries = CounterMetricFamily(*RETRIES, labels=(*API_LABELS, "status"))
        waits = CounterMetricFamily(*WAITS, labels=API_LABELS)
        wait_s = CounterMetricFamily(*WAIT_SECONDS, labels=API_LABELS)
        for key, slot in rows:
            for (method, status), count in slot.calls.items():
                calls.add_metric([*key, method, status], count)
            duration.add_metric(key, API_CALL_DURATION.cumulative(slot.duration), slot.duration[-1])
            for status, count in slot.retries.items():
                retries.add_metric([*key, status], count)
            waits.add_metric(key, slot.waits)
            wait_s.add_metric(key, slot.wait_s)
        yield from (calls, duration, retries, waits, wait_s)

    def pieces(self) -> Iterator[str]:
        """The families in the Prometheus text format, as ``generate_latest`` would write ``collect()``,
        piece by piece (``/metrics`` streams them: a fleet's whole text at once is ~100 MB of RSS)."""
        rows = self.snapshot()
        yield family_header(f"{CALLS[0]}_total", "counter", CALLS[1])
        for (merchant, upstream), slot in rows:
            for (method, status), count in slot.calls.items():
                labels = labels_text(
                    (("merchant", merchant), ("upstream", upstream), ("method", method), ("status", status))
                )
                yield f"{CALLS[0]}_total{{{labels}}} {number(count)}\n"
        yield family_header(API_CALL_DURATION.name, "histogram", API_CALL_DURATION.documentation)
        for (merchant, upstream), slot in rows:
            before, after = split_at_le((("merchant", merchant), ("upstream", upstream)))
            yield API_CALL_DURATION.lines(slot.duration, before, after)
        yield family_header(f"{RETRIES[0]}_total", "counter", RETRIES[1])
        for (merchant, upstream), slot in rows:
            for status, count in slot.retries.items():
                labels = labels_text((("merchant", merchant), ("upstream", upstream), ("status", status)))
                yield f"{RETRIES[0]}_total{{{labels}}} {number(count)}\n"
        for (name, documentation), attribute in ((WAITS, "waits"), (WAIT_SECONDS, "wait_s")):
            yield family_header(f"{name}_total", "counter", documentation)
            for (merchant, upstream), slot in rows:
                labels = labels_text((("merchant", merchant), ("upstream", upstream)))
                yield f"{name}_total{{{labels}}} {number(getattr(slot, attribute))}\n"
