"""The per-flow and per-upstream series kept as plain numbers expose exactly what prometheus-client's own
objects did: same names, types, HELP texts, labels, buckets, ``_count``/``_sum``, through the hooks the
daemon calls. The reference below is the pre-table definition of each family, spelled out literally."""

from __future__ import annotations

import sys
import threading
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from daemon.clock import FakeClock
from daemon.engine.reports import FlowStatus
from daemon.http.stats import NO_RESPONSE, CallRecord, HttpStats
from daemon.jobrunner import JobSpec
from daemon.monitor import HealthWatcher, MetricsObserver, SchedulerMetrics, SyncMetrics, attach_http_metrics

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
FLOW = ("merchant", "channel", "flow")
API = ("merchant", "upstream")
# A merchant id with the characters the text format escapes (config ids never carry them; the renderer
# must still write what prometheus-client writes).
ODD = 'odd"id\\x'


class Reference:
    """The families as prometheus-client objects, defined as SyncMetrics defined them before the tables."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.cycles = Counter(
            "ffn_sync_cycles", "Finished flow cycles by outcome", (*FLOW, "outcome"), registry=r
        )
        self.duration = Histogram(
            "ffn_sync_cycle_duration_seconds",
            "Wall time of one flow cycle",
            FLOW,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900),
            registry=r,
        )
        self.records = {
            n: Counter(f"ffn_sync_records_{n}", f"Records {n} by flow cycles", FLOW, registry=r)
            for n in ("pulled", "changed", "pushed", "skipped", "failed", "retried")
        }
        self.pending = Gauge(
            "ffn_sync_pending_records", "Records waiting to be pushed (queue backlog)", FLOW, registry=r
        )
        self.dead = Gauge(
            "ffn_sync_dead_letters",
            "Parked records waiting for an operator (ffn-sync failed / retry)",
            FLOW,
            registry=r,
        )
        self.lag = Gauge(
            "ffn_sync_cursor_lag_seconds", "How far the flow's delta cursor is behind now", FLOW, registry=r
        )
        self.last = Gauge(
            "ffn_sync_last_success_timestamp_seconds",
            "Unix time of the flow's last cycle that finished without an error",
            FLOW,
            registry=r,
        )
        self.failures = Gauge("ffn_sync_consecutive_failures", "Failed cycles in a row", FLOW, registry=r)
        self.stalled = Gauge(
            "ffn_sync_flow_stalled",
            "1 while the flow had no successful cycle within 3 intervals",
            FLOW,
            registry=r,
        )
        self.delay = Histogram(
            "ffn_sync_webhook_trigger_delay_seconds",
            "First delivery of a burst -> the flow run that reads up to now",
            FLOW,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
            registry=r,
        )
        self.skipped = Counter(
            "ffn_sync_scheduler_skipped_runs",
            "Scheduled runs skipped because the previous run had outlived its interval",
            FLOW,
            registry=r,
        )
        self.calls = Counter(
            "ffn_sync_api_calls",
            "HTTP requests sent (every attempt) by answer status",
            (*API, "method", "status"),
            registry=r,
        )
        self.call_duration = Histogram(
            "ffn_sync_api_call_duration_seconds",
            "Time from sending a request to its full answer",
            API,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        self.retries = Counter(
            "ffn_sync_api_retries",
            "Requests repeated by the HTTP client, by the status that caused the retry",
            (*API, "status"),
            registry=r,
        )
        self.waits = Counter(
            "ffn_sync_rate_limit_waits", "Requests that had to wait for the rate limiter", API, registry=r
        )
        self.wait_s = Counter(
            "ffn_sync_rate_limit_wait_seconds", "Time spent waiting for the rate limiter", API, registry=r
        )

        ch = ("merchant", "channel")
        self.latency = Histogram(
            "ffn_sync_order_export_latency_seconds",
            "Order created in the shop -> outbound created in FFN",
            ch,
            buckets=(1, 2, 5, 10, 20, 30, 60, 90, 120, 180, 300, 600, 900, 1800, 2700, 3600),
            registry=r,
        )
        self.deliveries = Counter(
            "ffn_sync_webhook_deliveries",
            "Authenticated webhook deliveries by vendor topic (duplicates included)",
            (*ch, "topic"),
            registry=r,
        )
        self.duplicates = Counter(
            "ffn_sync_webhook_duplicates",
            "Deliveries whose id was seen recently: answered, triggered nothing",
            ch,
            registry=r,
        )
        self.rejects = Counter(
            "ffn_sync_webhook_rejects",
            "Refused deliveries by reason (bad_signature, unknown_topic, malformed, too_large, unknown_channel)",
            (*ch, "reason"),
            registry=r,
        )
        self.last_delivery = Gauge(
            "ffn_sync_webhook_last_delivery_timestamp_seconds",
            "Unix time of the channel's last authenticated delivery",
            ch,
            registry=r,
        )
        self.registered = Gauge(
            "ffn_sync_webhook_registered",
            "1 while the channel's webhooks are registered at the shop as configured, else 0",
            ch,
            registry=r,
        )

    def text(self) -> list[str]:
        lines = generate_latest(self.registry).decode().splitlines()
        return sorted(line for line in lines if "_created" not in line)  # the daemon turns them off


def sample_name(line: str) -> str:
    if line.startswith("#"):
        return line.split(" ")[2]
    return line.split("{", 1)[0].split(" ", 1)[0]


def scrape_lines(metrics: SyncMetrics, names: set[str]) -> list[str]:
    return sorted(line for line in metrics.render().decode().splitlines() if sample_name(line) in names)


def spec(merchant: str, channel: str, flow: str) -> JobSpec:
    async def run() -> None:
        return None

    return JobSpec(merchant, None if channel == "ffn" else channel, flow, 60.0, run)


def status(key: tuple[str, str, str], **values: object) -> FlowStatus:
    fields: dict[str, object] = {
        "last_success_at": None,
        "last_run_at": T0,
        "cursor_lag_s": None,
        "pending": 0,
        "failed": 0,
        "consecutive_failures": 0,
        "next_run_at": None,
        "last_error": None,
        "stalled": False,
    }
    fields.update(values)
    return FlowStatus(*key, **fields)  # type: ignore[arg-type]


class Statuses:
    def __init__(self, statuses: list[FlowStatus]) -> None:
        self.statuses = statuses

    async def flow_statuses(self) -> list[FlowStatus]:
        return self.statuses


async def drive(metrics: SyncMetrics, ref: Reference, clock: FakeClock) -> list[HttpStats]:
    """The same fixture through the daemon's hooks (metrics) and through plain children (ref)."""
    observer, scheduler = MetricsObserver(metrics, clock=clock), SchedulerMetrics(metrics)
    orders, stock, idle = ("acme", "shopify-main", "orders"), ("acme", "ffn", "stock"), (ODD, "woo", "orders")
    cycles = [
        (orders, {"pulled": 120, "changed": 7, "pushed": 7}, 0.05, True),  # exactly on a bound
        (orders, {"pulled": 5, "failed": 1, "retried": 2}, 2.0, False),
        (orders, {}, 4000.0, True),  # beyond the last bound: +Inf only
        (stock, {"pulled": 3}, -1.0, False),  # a clock step back: 0 s
        (idle, {"skipped": 4}, 0.3, True),
    ]
    for key, counts, duration, ok in cycles:
        clock.advance(1)
        observer.cycle_finished(*key, counts, duration, ok)
        ref.cycles.labels(*key, "ok")
        ref.cycles.labels(*key, "ok" if ok else "failed").inc()
        ref.duration.labels(*key).observe(max(0.0, duration))
        for name, child in ref.records.items():
            child.labels(*key).inc(counts.get(name, 0))
        if ok:
            ref.last.labels(*key).set(clock.now().timestamp())
    observer.cursor_lag(*orders, 12.5)
    observer.cursor_lag(*stock, -3)
    ref.lag.labels(*orders).set(12.5)
    ref.lag.labels(*stock).set(0)
    for key in (orders, orders, stock):
        scheduler.run_skipped(spec(*key))
        ref.skipped.labels(*key).inc()
    for seconds in (0.003, 0.2, 400.0):
        metrics.flows.trigger_delay(orders, seconds)
        ref.delay.labels(*orders).observe(seconds)

    health_only = ("globex", "ffn", "shipments")  # a health row, no cycle in this process yet
    statuses = [
        status(orders, pending=7, failed=3, cursor_lag_s=30.0, last_success_at=T0 + timedelta(seconds=3)),
        status(stock, consecutive_failures=2, stalled=True),
        status(health_only, pending=1, cursor_lag_s=-5.0),
    ]
    await HealthWatcher(Statuses(statuses), metrics, clock=clock).check()
    for s in statuses:
        key = (s.merchant, s.channel, s.flow)
        ref.pending.labels(*key).set(s.pending)
        ref.dead.labels(*key).set(s.failed)
        ref.failures.labels(*key).set(s.consecutive_failures)
        ref.stalled.labels(*key).set(1 if s.stalled else 0)
        if s.cursor_lag_s is not None:
            ref.lag.labels(*key).set(max(0.0, s.cursor_lag_s))
        if s.last_success_at is not None:
            ref.last.labels(*key).set(s.last_success_at.timestamp())

    for channel, latency in (
        ("shopify-main", 0.4),
        ("shopify-main", 8.0),
        ("shopify-main", 5000.0),
        ("woo", -2.0),
    ):
        observer.order_exported("acme", channel, latency)
        ref.latency.labels("acme", channel).observe(max(0.0, latency))
    # What the webhook receiver and registrar report (daemon.webhooks), through the same table calls.
    shop = ("acme", "shopify-main")
    for topic in ("orders/create", "orders/create", "products/update"):
        metrics.channels.delivered(shop, topic, 1700000000.5)
        ref.deliveries.labels(*shop, topic).inc()
    ref.last_delivery.labels(*shop).set(1700000000.5)
    metrics.channels.duplicate(shop)
    ref.duplicates.labels(*shop).inc()
    for where, reason in ((shop, "bad_signature"), (("-", "-"), "unknown_channel")):
        metrics.channels.rejected(where, reason)
        ref.rejects.labels(*where, reason).inc()
    metrics.channels.registered(shop, True)
    metrics.channels.registered((ODD, "woo"), False)
    ref.registered.labels(*shop).set(1)
    ref.registered.labels(ODD, "woo").set(0)

    kept = []
    for merchant, upstream in (("acme", "shopify"), ("acme", "ffn"), (ODD, "woocommerce")):
        stats = HttpStats()
        kept.append(stats)
        attach_http_metrics(stats, upstream, merchant, metrics)
        ref.call_duration.labels(merchant, upstream)
        ref.waits.labels(merchant, upstream)
        ref.wait_s.labels(merchant, upstream)
    shopify = kept[0]
    for method, answer, elapsed in (("GET", 200, 0.01), ("GET", 429, 0.2), ("POST", NO_RESPONSE, 31.0)):
        shopify.record_call(CallRecord("shopify", method, answer, elapsed, 1))
        ref.calls.labels("acme", "shopify", method, "none" if answer == NO_RESPONSE else str(answer)).inc()
        ref.call_duration.labels("acme", "shopify").observe(elapsed)
    # Attempt 2 of the same request: a retry caused by the previous attempt's answer (none).
    shopify.record_call(CallRecord("shopify", "GET", 200, 0.5, 2, retry_of=NO_RESPONSE))
    ref.calls.labels("acme", "shopify", "GET", "200").inc()
    ref.call_duration.labels("acme", "shopify").observe(0.5)
    ref.retries.labels("acme", "shopify", "none").inc()
    shopify.record_wait(1.5)
    shopify.record_wait(0.25)
    shopify.record_call(CallRecord("shopify", "GET", 200, 0.02, 1))
    ref.calls.labels("acme", "shopify", "GET", "200").inc()
    ref.call_duration.labels("acme", "shopify").observe(0.02)
    ref.waits.labels("acme", "shopify").inc(2)
    ref.wait_s.labels("acme", "shopify").inc(1.75)
    return kept


async def test_a_scrape_is_what_prometheus_client_objects_exposed() -> None:
    metrics, ref = SyncMetrics(), Reference()
    await drive(metrics, ref, FakeClock(T0))
    expected = ref.text()
    names = {sample_name(line) for line in expected}
    assert len([line for line in expected if not line.startswith("#")]) > 150  # the fixture is not trivial
    assert scrape_lines(metrics, names) == expected
    # The custom-collector path (what registry readers get) agrees with the page line for line.
    assert sorted(generate_latest(metrics.registry).decode().splitlines()) == sorted(
        metrics.render().decode().splitlines()
    )


async def test_histograms_and_counters_agree_within_each_scrape() -> None:
    metrics, ref = SyncMetrics(), Reference()
    await drive(metrics, ref, FakeClock(T0))
    families = {f.name: f for f in text_string_to_metric_families(metrics.render().decode())}
    histograms = ("cycle_duration", "api_call_duration", "order_export_latency", "webhook_trigger_delay")
    for name in (f"ffn_sync_{h}_seconds" for h in histograms):
        by_labels: dict[frozenset[tuple[str, str]], dict[str, float]] = {}
        for s in families[name].samples:
            labels = frozenset((k, v) for k, v in s.labels.items() if k != "le")
            suffix = s.name.removeprefix(name)
            key = "+Inf" if s.labels.get("le") == "+Inf" else suffix
            by_labels.setdefault(labels, {})[key] = s.value
        for labels, values in by_labels.items():
            assert values["+Inf"] == values["_count"], labels
    orders = {"merchant": "acme", "channel": "shopify-main", "flow": "orders"}
    assert metrics.registry.get_sample_value("ffn_sync_cycle_duration_seconds_count", orders) == 3
    assert metrics.registry.get_sample_value("ffn_sync_cycle_duration_seconds_sum", orders) == 4002.05
    assert (
        metrics.registry.get_sample_value("ffn_sync_cycle_duration_seconds_bucket", {**orders, "le": "0.05"})
        == 1
    )
    assert (
        metrics.registry.get_sample_value("ffn_sync_cycle_duration_seconds_bucket", {**orders, "le": "900.0"})
        == 2
    )


async def test_label_values_are_only_ids_and_names_never_secrets() -> None:
    metrics, ref = SyncMetrics(), Reference()
    await drive(metrics, ref, FakeClock(T0))
    values = {
        value
        for family in text_string_to_metric_families(metrics.render().decode())
        for s in family.samples
        for name, value in s.labels.items()
        if name != "le"
    }
    allowed = {"acme", "globex", ODD, "shopify-main", "ffn", "woo", "orders", "stock", "shipments", "-"}
    allowed |= {"shopify", "woocommerce", "GET", "POST", "200", "429", "none", "unknown", "ok", "failed"}
    allowed |= {"orders/create", "products/update", "bad_signature", "unknown_channel"}
    assert values <= allowed


async def test_a_flow_no_longer_run_here_leaves_the_scrape_with_all_its_series() -> None:
    """Reload removes globex (or another instance takes it over): its cycles, durations, gauges, skips and
    HTTP series go; acme's stay and keep counting; a flow without a health row yet is not dropped."""
    clock = FakeClock(T0)
    metrics = SyncMetrics()
    observer = MetricsObserver(metrics, clock=clock)
    acme, globex, fresh = (
        ("acme", "shop", "orders"),
        ("globex", "shop", "orders"),
        ("acme", "ffn", "reconcile"),
    )
    stats = {m: HttpStats() for m in ("acme", "globex")}
    for merchant, s in stats.items():
        attach_http_metrics(s, "ffn", merchant, metrics)
        s.record_call(CallRecord("ffn", "GET", 200, 0.1, 1))
    for key in (acme, globex):
        observer.cycle_finished(*key, {"pulled": 1}, 0.1, True)
    SchedulerMetrics(metrics).run_skipped(spec(*globex))
    observer.order_exported("globex", "shop", 3.0)
    metrics.channels.registered(("globex", "shop"), True)
    health = Statuses([status(acme, pending=1), status(globex, pending=2)])
    watcher = HealthWatcher(health, metrics, clock=clock)
    await watcher.check()
    assert "globex" in metrics.render().decode()

    health.statuses = [status(acme, pending=1)]  # the new configuration has no globex
    observer.cycle_finished(*fresh, {}, 0.1, True)  # first cycle, its health row not read yet
    await watcher.check()
    page = metrics.render().decode()
    assert "globex" not in page
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(page)
        for s in f.samples
    }
    flow = tuple(sorted({"merchant": "acme", "channel": "shop", "flow": "orders"}.items()))
    assert samples[("ffn_sync_pending_records", flow)] == 1
    assert samples[("ffn_sync_cycles_total", (*flow, ("outcome", "ok")))] == 1
    reconcile = tuple(sorted({"merchant": "acme", "channel": "ffn", "flow": "reconcile"}.items()))
    assert samples[("ffn_sync_cycles_total", (*reconcile, ("outcome", "ok")))] == 1
    assert (
        samples[
            (
                "ffn_sync_api_calls_total",
                (("merchant", "acme"), ("method", "GET"), ("status", "200"), ("upstream", "ffn")),
            )
        ]
        == 1
    )

    observer.cycle_finished(*acme, {"pulled": 2}, 0.1, True)
    assert metrics.registry.get_sample_value("ffn_sync_records_pulled_total", dict(flow)) == 3


def test_a_scrape_during_updates_never_shows_a_half_done_update() -> None:
    """The page renders in its own thread while the loop counts: each flow is copied whole, so within one
    scrape a flow's cycle count, duration ``_count``, ``+Inf`` bucket and ``_sum`` (1 s per cycle) agree."""
    metrics = SyncMetrics()
    observer = MetricsObserver(metrics)
    keys = [("acme", "shop", f"flow{i}") for i in range(3)]
    done = threading.Event()

    def count() -> None:
        while not done.is_set():
            for key in keys:
                observer.cycle_finished(*key, {"pulled": 1}, 1.0, True)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: a torn copy would show up
    writer = threading.Thread(target=count)
    writer.start()
    try:
        torn = []
        for _ in range(100):
            page = metrics.render().decode()
            per_flow: dict[str, dict[str, float]] = {}
            for family in text_string_to_metric_families(page):
                for s in family.samples:
                    if s.labels.get("le") not in (None, "+Inf") or "flow" not in s.labels:
                        continue
                    per_flow.setdefault(s.labels["flow"], {})[s.name + s.labels.get("le", "")] = s.value
            for flow, v in per_flow.items():
                seen = {
                    v["ffn_sync_cycles_total"],
                    v["ffn_sync_cycle_duration_seconds_count"],
                    v["ffn_sync_cycle_duration_seconds_bucket+Inf"],
                    v["ffn_sync_cycle_duration_seconds_sum"],
                    v["ffn_sync_records_pulled_total"],
                }
                if len(seen) != 1:
                    torn.append((flow, v))
    finally:
        done.set()
        writer.join()
        sys.setswitchinterval(old)
    assert not torn, torn[:3]


def test_values_are_written_as_prometheus_client_writes_them() -> None:
    from prometheus_client.utils import floatToGoString

    from daemon.monitor.exposition import number

    values = [0.0, -0.0, 1.0, 0.1, 1e-7, 2.5, 999999.9, 1e6, 1234567.0, 3e21, -5.5, -2e6]
    values += [float("inf"), float("-inf"), float("nan"), 1700000000.5]
    assert [number(v) for v in values] == [floatToGoString(v) for v in values]  # type: ignore[no-untyped-call]
