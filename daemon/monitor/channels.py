"""The per-shop-channel series, one small record per (merchant, channel), rendered at scrape time.

Order export latency (a 16-bucket histogram) and the webhook series were ~8 KB per channel as
prometheus-client children: 24 MB for 1,000 busy merchants with webhooks. Same locking as
``daemon.monitor.flows``: updates and per-channel copies under one lock, text written from the copies.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Iterator

from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from daemon.monitor.exposition import (
    ABSENT,
    PREFIX,
    HistogramSpec,
    MerchantTable,
    family_header,
    labels_text,
    number,
    split_at_le,
)

CHANNEL_LABELS = ("merchant", "channel")
ChannelKey = tuple[str, str]  # merchant, channel ("-", "-" for a webhook URL that named none we serve)
# Shop "created" -> FFN outbound created: seconds for a busy poll loop, up to an hour for a backlog.
ORDER_LATENCY_BUCKETS = (1, 2, 5, 10, 20, 30, 60, 90, 120, 180, 300, 600, 900, 1800, 2700, 3600)
ORDER_LATENCY = HistogramSpec(
    f"{PREFIX}order_export_latency_seconds",
    "Order created in the shop -> outbound created in FFN",
    ORDER_LATENCY_BUCKETS,
)
# (family name, documentation, extra label) of the per-channel counters kept by an extra label value.
DELIVERIES = (
    f"{PREFIX}webhook_deliveries",
    "Authenticated webhook deliveries by vendor topic (duplicates included)",
    "topic",
)
REJECTS = (
    f"{PREFIX}webhook_rejects",
    "Refused deliveries by reason (bad_signature, unknown_topic, malformed, too_large, unknown_channel)",
    "reason",
)
DUPLICATES = (
    f"{PREFIX}webhook_duplicates",
    "Deliveries whose id was seen recently: answered, triggered nothing",
)
LAST_DELIVERY = (
    f"{PREFIX}webhook_last_delivery_timestamp_seconds",
    "Unix time of the channel's last authenticated delivery",
)
REGISTERED = (
    f"{PREFIX}webhook_registered",
    "1 while the channel's webhooks are registered at the shop as configured, else 0",
)


class ChannelValues:
    """One channel's values: NaN or None where the series does not exist yet."""

    __slots__ = ("deliveries", "duplicates", "last_delivery", "latency", "registered", "rejects")

    def __init__(self) -> None:
        self.latency: array[float] | None = None
        self.deliveries: dict[str, float] = {}  # topic -> deliveries
        self.rejects: dict[str, float] = {}  # reason -> refusals
        self.duplicates = ABSENT
        self.last_delivery = ABSENT
        self.registered = ABSENT

    def copy(self) -> ChannelValues:
        twin = ChannelValues.__new__(ChannelValues)
        twin.latency = None if self.latency is None else self.latency[:]
        twin.deliveries, twin.rejects = dict(self.deliveries), dict(self.rejects)
        twin.duplicates, twin.last_delivery, twin.registered = (
            self.duplicates,
            self.last_delivery,
            self.registered,
        )
        return twin


class ChannelTable(MerchantTable[ChannelKey, ChannelValues]):
    def __init__(self) -> None:
        super().__init__(ChannelValues)

    # -- updates (the event loop) --

    def order_exported(self, key: ChannelKey, latency_s: float) -> None:
        with self._lock:
            slot = self._slot(key)
            if slot.latency is None:
                slot.latency = ORDER_LATENCY.new()
            ORDER_LATENCY.observe(slot.latency, latency_s)

    def delivered(self, key: ChannelKey, topic: str, at: float) -> None:
        with self._lock:
            slot = self._slot(key)
            slot.deliveries[topic] = slot.deliveries.get(topic, 0.0) + 1
            slot.last_delivery = at

    def duplicate(self, key: ChannelKey) -> None:
        with self._lock:
            slot = self._slot(key)
            slot.duplicates = 1.0 if math.isnan(slot.duplicates) else slot.duplicates + 1

    def rejected(self, key: ChannelKey, reason: str) -> None:
        with self._lock:
            slot = self._slot(key)
            slot.rejects[reason] = slot.rejects.get(reason, 0.0) + 1

    def registered(self, key: ChannelKey, registered: bool) -> None:
        with self._lock:
            self._slot(key).registered = 1.0 if registered else 0.0

    # -- reads (the render thread) --

    def label_names(self) -> set[str]:
        return {*CHANNEL_LABELS, DELIVERIES[2], REJECTS[2]}

    def describe(self) -> Iterable[Metric]:
        return self._families([])

    def collect(self) -> Iterable[Metric]:
        return self._families(self.snapshot())

    def _families(self, rows: list[tuple[ChannelKey, ChannelValues]]) -> Iterator[Metric]:
        latency = HistogramMetricFamily(
            ORDER_LATENCY.name, ORDER_LATENCY.documentation, labels=CHANNEL_LABELS
        )
        deliveries = CounterMetricFamily(*DELIVERIES[:2], labels=(*CHANNEL_LABELS, DELIVERIES[2]))
        duplicates = CounterMetricFamily(*DUPLICATES, labels=CHANNEL_LABELS)
        rejects = CounterMetricFamily(*REJECTS[:2], labels=(*CHANNEL_LABELS, REJECTS[2]))
        last_delivery = GaugeMetricFamily(*LAST_DELIVERY, labels=CHANNEL_LABELS)
        registered = GaugeMetricFamily(*REGISTERED, labels=CHANNEL_LABELS)
        for key, slot in rows:
            if slot.latency is not None:
                latency.add_metric(key, ORDER_LATENCY.cumulative(slot.latency), slot.latency[-1])
            for topic, count in slot.deliveries.items():
                deliveries.add_metric([*key, topic], count)
            if not math.isnan(slot.duplicates):
                duplicates.add_metric(key, slot.duplicates)
            for reason, count in slot.rejects.items():
                rejects.add_metric([*key, reason], count)
            if not math.isnan(slot.last_delivery):
                last_delivery.add_metric(key, slot.last_delivery)
            if not math.isnan(slot.registered):
                registered.add_metric(key, slot.registered)
        yield from (latency, deliveries, duplicates, rejects, last_delivery, registered)

    def pieces(self) -> Iterator[str]:
        """The families in the Prometheus text format, as ``generate_latest`` would write ``collect()``,
        piece by piece (``/metrics`` streams them: a fleet's whole text at once is ~100 MB of RSS)."""
        rows = [(labels_text(_pairs(key)), key, slot) for key, slot in self.snapshot()]
        yield family_header(ORDER_LATENCY.name, "histogram", ORDER_LATENCY.documentation)
        for _, key, slot in rows:
            if slot.latency is not None:
                yield ORDER_LATENCY.lines(slot.latency, *split_at_le(_pairs(key)))
        for name, documentation, label in (DELIVERIES, REJECTS):
            yield family_header(f"{name}_total", "counter", documentation)
            for _, key, slot in rows:
                counts = slot.deliveries if label == DELIVERIES[2] else slot.rejects
                for value, count in counts.items():
                    labels = labels_text((*_pairs(key), (label, value)))
                    yield f"{name}_total{{{labels}}} {number(count)}\n"
        for (name, documentation), kind, attribute in (
            (DUPLICATES, "counter", "duplicates"),
            (LAST_DELIVERY, "gauge", "last_delivery"),
            (REGISTERED, "gauge", "registered"),
        ):
            sample = f"{name}_total" if kind == "counter" else name
            yield family_header(sample, kind, documentation)
            for labels, _, slot in rows:
                value = getattr(slot, attribute)
                if not math.isnan(value):
                    yield f"{sample}{{{labels}}} {number(value)}\n"


def _pairs(key: ChannelKey) -> tuple[tuple[str, str], tuple[str, str]]:
    return (("merchant", key[0]), ("channel", key[1]))
