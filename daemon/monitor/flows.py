"""Every per-flow series, one small record per (merchant, channel, flow), rendered at scrape time.

A fleet has ~12 flows per merchant and each flow ~15 families (cycles, a 13-bucket duration histogram,
six record counters, the health gauges, skipped runs, webhook trigger delay): as prometheus-client
children that was ~12 KB per flow, 150 MB at 1,000 merchants. Here a flow is one ``FlowValues``: an
``array('d')`` of its scalar values (NaN: that series does not exist) and one array per histogram that
has been observed, ~0.5 KB.

Thread safety: the loop updates values while ``/metrics`` renders in its own thread. Every update and
every copy of a flow's values happen under one lock, held for a few array operations, so one scrape never
shows a histogram whose buckets, ``_count`` and ``_sum`` disagree, nor a flow's counters half-updated.
The render copies flow by flow (the loop can run between two flows) and then writes the text unlocked.
"""

from __future__ import annotations

import math
import threading
from array import array
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from daemon.monitor.exposition import (
    ABSENT,
    PREFIX,
    HistogramSpec,
    family_header,
    labels_text,
    number,
    split_at_le,
)

FLOW_LABELS = ("merchant", "channel", "flow")
FlowKey = tuple[str, str, str]  # merchant, channel, flow

# The counts a cycle reports (daemon.engine.cycle.CycleCounts), one counter each.
RECORD_COUNTS = ("pulled", "changed", "pushed", "skipped", "failed", "retried")
CYCLE_DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900)
# A nudged run starts at once unless the flow is running (then right after it): ms to a cycle's length.
TRIGGER_DELAY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)

# Where each scalar sits in a flow's value array.
CYCLES_OK, CYCLES_FAILED = 0, 1
RECORDS = {name: 2 + i for i, name in enumerate(RECORD_COUNTS)}
SKIPPED_RUNS = 2 + len(RECORD_COUNTS)
PENDING, DEAD_LETTERS, CURSOR_LAG, LAST_SUCCESS, CONSECUTIVE_FAILURES, STALLED = range(
    SKIPPED_RUNS + 1, SKIPPED_RUNS + 7
)
WIDTH = STALLED + 1

CYCLE_DURATION = HistogramSpec(
    f"{PREFIX}cycle_duration_seconds", "Wall time of one flow cycle", CYCLE_DURATION_BUCKETS
)
TRIGGER_DELAY = HistogramSpec(
    f"{PREFIX}webhook_trigger_delay_seconds",
    "First delivery of a burst -> the flow run that reads up to now",
    TRIGGER_DELAY_BUCKETS,
)


@dataclass(frozen=True)
class ScalarFamily:
    """A counter or gauge family: each series is one slot of the value array plus fixed extra labels."""

    name: str  # counters without ``_total``, as prometheus-client names the family
    kind: str  # "counter" or "gauge"
    documentation: str
    series: tuple[tuple[int, tuple[tuple[str, str], ...]], ...]  # (slot, extra labels)

    @property
    def sample_name(self) -> str:
        return f"{self.name}_total" if self.kind == "counter" else self.name

    @property
    def label_names(self) -> tuple[str, ...]:
        extra = {name for _, labels in self.series for name, _ in labels}
        return (*FLOW_LABELS, *sorted(extra))


def _one(index: int) -> tuple[tuple[int, tuple[tuple[str, str], ...]], ...]:
    return ((index, ()),)


# In the order /metrics has always listed them.
CYCLES = ScalarFamily(
    f"{PREFIX}cycles",
    "counter",
    "Finished flow cycles by outcome",
    ((CYCLES_OK, (("outcome", "ok"),)), (CYCLES_FAILED, (("outcome", "failed"),))),
)
SCALARS_AFTER_DURATION = (
    *(
        ScalarFamily(
            f"{PREFIX}records_{name}", "counter", f"Records {name} by flow cycles", _one(RECORDS[name])
        )
        for name in RECORD_COUNTS
    ),
    ScalarFamily(
        f"{PREFIX}pending_records", "gauge", "Records waiting to be pushed (queue backlog)", _one(PENDING)
    ),
    ScalarFamily(
        f"{PREFIX}dead_letters",
        "gauge",
        "Parked records waiting for an operator (ffn-sync failed / retry)",
        _one(DEAD_LETTERS),
    ),
    ScalarFamily(
        f"{PREFIX}cursor_lag_seconds",
        "gauge",
        "How far the flow's delta cursor is behind now",
        _one(CURSOR_LAG),
    ),
    ScalarFamily(
        f"{PREFIX}last_success_timestamp_seconds",
        "gauge",
        "Unix time of the flow's last cycle that finished without an error",
        _one(LAST_SUCCESS),
    ),
    ScalarFamily(
        f"{PREFIX}consecutive_failures", "gauge", "Failed cycles in a row", _one(CONSECUTIVE_FAILURES)
    ),
    ScalarFamily(
        f"{PREFIX}flow_stalled",
        "gauge",
        "1 while the flow had no successful cycle within 3 intervals",
        _one(STALLED),
    ),
)
SKIPPED = ScalarFamily(
    f"{PREFIX}scheduler_skipped_runs",
    "counter",
    "Scheduled runs skipped because the previous run had outlived its interval",
    _one(SKIPPED_RUNS),
)
# A flow's values copied for one scrape: scalars, cycle duration, trigger delay (see FlowValues).
Snapshot = tuple["array[float]", "array[float] | None", "array[float] | None"]
# Families in /metrics order: a ScalarFamily, or a histogram and where it sits in a Snapshot.
LAYOUT: tuple[ScalarFamily | tuple[int, HistogramSpec], ...] = (
    CYCLES,
    (1, CYCLE_DURATION),
    *SCALARS_AFTER_DURATION,
    (2, TRIGGER_DELAY),
    SKIPPED,
)


class FlowValues:
    """One flow's values; a histogram stays None until its first observation (no series before)."""

    __slots__ = ("duration", "trigger_delay", "values")

    def __init__(self) -> None:
        self.values = array("d", (ABSENT,)) * WIDTH
        self.duration: array[float] | None = None
        self.trigger_delay: array[float] | None = None

    def copy(self) -> Snapshot:
        return (
            self.values[:],
            None if self.duration is None else self.duration[:],
            None if self.trigger_delay is None else self.trigger_delay[:],
        )


def _add(values: array[float], index: int, amount: float) -> None:
    current = values[index]
    values[index] = amount if math.isnan(current) else current + amount


class FlowTable(Collector):
    """The per-flow families; register on a ``CollectorRegistry`` (``collect()``) or render ``text()``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flows: dict[FlowKey, FlowValues] = {}

    def _slot(self, key: FlowKey) -> FlowValues:
        slot = self._flows.get(key)
        if slot is None:
            slot = self._flows[key] = FlowValues()
        return slot

    # -- updates (the event loop) --

    def cycle_finished(
        self, key: FlowKey, counts: Mapping[str, int], duration_s: float, ok: bool, finished_at: float
    ) -> None:
        with self._lock:
            slot = self._slot(key)
            values = slot.values
            if slot.duration is None:
                # The flow's counters exist from its first cycle on (at 0 if need be), so rate() sees them.
                slot.duration = CYCLE_DURATION.new()
                values[CYCLES_OK] = 0.0
                for index in RECORDS.values():
                    values[index] = 0.0
            if ok:
                values[CYCLES_OK] += 1
                values[LAST_SUCCESS] = finished_at
            else:
                _add(values, CYCLES_FAILED, 1)
            CYCLE_DURATION.observe(slot.duration, max(0.0, duration_s))
            for name, count in counts.items():
                index = RECORDS[name]
                if count > 0:
                    values[index] += count

    def cursor_lag(self, key: FlowKey, lag_s: float) -> None:
        with self._lock:
            self._slot(key).values[CURSOR_LAG] = max(0.0, lag_s)

    def run_skipped(self, key: FlowKey) -> None:
        with self._lock:
            _add(self._slot(key).values, SKIPPED_RUNS, 1)

    def trigger_delay(self, key: FlowKey, seconds: float) -> None:
        with self._lock:
            slot = self._slot(key)
            if slot.trigger_delay is None:
                slot.trigger_delay = TRIGGER_DELAY.new()
            TRIGGER_DELAY.observe(slot.trigger_delay, seconds)

    def health(
        self,
        key: FlowKey,
        *,
        pending: int,
        dead_letters: int,
        consecutive_failures: int,
        stalled: bool,
        cursor_lag_s: float | None,
        last_success: float | None,
    ) -> None:
        """The Postgres-backed gauges of one flow, as the health watcher read them."""
        with self._lock:
            values = self._slot(key).values
            values[PENDING] = pending
            values[DEAD_LETTERS] = dead_letters
            values[CONSECUTIVE_FAILURES] = consecutive_failures
            values[STALLED] = 1.0 if stalled else 0.0
            if cursor_lag_s is not None:
                values[CURSOR_LAG] = max(0.0, cursor_lag_s)
            if last_success is not None:
                values[LAST_SUCCESS] = last_success

    def forget(self, keys: Iterable[FlowKey]) -> None:
        """Drop every series of flows no longer run here (removed on reload, or owned by another instance)."""
        with self._lock:
            for key in keys:
                self._flows.pop(key, None)

    def label_names(self) -> set[str]:
        return {
            name for family in LAYOUT if isinstance(family, ScalarFamily) for name in family.label_names
        } | {*FLOW_LABELS}

    # -- reads (the render thread) --

    def snapshot(self) -> list[tuple[FlowKey, Snapshot]]:
        with self._lock:
            slots = list(self._flows.items())
        rows = []
        for key, slot in slots:
            with self._lock:  # one flow at a time: the loop is never held up for a whole fleet
                rows.append((key, slot.copy()))
        return rows

    def describe(self) -> Iterable[Metric]:
        return self._families([])

    def collect(self) -> Iterable[Metric]:
        return self._families(self.snapshot())

    def _families(self, rows: list[tuple[FlowKey, Snapshot]]) -> Iterator[Metric]:
        for family in LAYOUT:
            if isinstance(family, ScalarFamily):
                yield _scalar_family(family, rows)
            else:
                at, spec = family
                histogram = HistogramMetricFamily(spec.name, spec.documentation, labels=FLOW_LABELS)
                for key, snapshot in rows:
                    values = snapshot[at]
                    if values is not None:
                        histogram.add_metric(key, spec.cumulative(values), values[-1])
                yield histogram

    def pieces(self) -> Iterator[str]:
        """The families in the Prometheus text format, as ``generate_latest`` would write ``collect()``,
        piece by piece (``/metrics`` streams them: a fleet's whole text at once is ~100 MB of RSS)."""
        rows = []
        for (merchant, channel, flow), snapshot in self.snapshot():
            pairs = (("merchant", merchant), ("channel", channel), ("flow", flow))
            rows.append((labels_text(pairs), split_at_le(pairs), snapshot))
        for family in LAYOUT:
            if isinstance(family, ScalarFamily):
                name = family.sample_name
                yield family_header(name, family.kind, family.documentation)
                # Extra labels (outcome) sort after every flow label, so they follow them.
                series = [(index, "".join(f',{k}="{v}"' for k, v in extra)) for index, extra in family.series]
                for flow_labels, _, (values, _, _) in rows:
                    for index, extra_labels in series:
                        value = values[index]
                        if value == value:  # not NaN: the series exists
                            yield f"{name}{{{flow_labels}{extra_labels}}} {number(value)}\n"
            else:
                at, spec = family
                yield family_header(spec.name, "histogram", spec.documentation)
                for _, (before, after), snapshot in rows:
                    histogram = snapshot[at]
                    if histogram is not None:
                        yield spec.lines(histogram, before, after)


def _scalar_family(family: ScalarFamily, rows: list[tuple[FlowKey, Snapshot]]) -> Metric:
    metric: CounterMetricFamily | GaugeMetricFamily
    if family.kind == "counter":
        metric = CounterMetricFamily(family.name, family.documentation, labels=family.label_names)
    else:
        metric = GaugeMetricFamily(family.name, family.documentation, labels=family.label_names)
    for key, (values, _, _) in rows:
        for index, extra in family.series:
            value = values[index]
            if not math.isnan(value):
                metric.add_metric([*key, *(v for _, v in extra)], value)
    return metric
