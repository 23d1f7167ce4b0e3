"""Throughput (orders → FFN against zero-latency sandboxes) and the idle re-sync of the same world."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from urllib.parse import parse_qs

from bench.daemon_proc import run_once
from bench.probes import forget_cursors, log_position, traffic
from bench.report import Table, verdict
from bench.scenarios.common import THROUGHPUT_SHOP, bench_stage, warm_world
from bench.scenarios.throughput_runs import DAEMON, Run, Spread, measure, runs_wanted
from bench.sizes import Size
from sandboxes.world.shops import SHOPS, ffn_is_read, ffn_is_write
from sandboxes.world.stage import Stage, staged

CATALOGUE = 50
WOO_PAGE_SIZE = 100  # per_page the WooCommerce channel asks for


async def run(size: Size, wanted: set[str]) -> list[Table]:
    count = size.throughput_orders
    runs: list[Run] = []
    tables: list[Table] = []
    total = runs_wanted(size.throughput_runs) if "throughput" in wanted else 1  # idle alone: one world
    for number in range(1, total + 1):
        # Each run in a world of its own: a second backlog in the same world would meet the first one's
        # orders, outbounds and stock changes again in every feed's overlap window and do more work.
        async with staged(bench_stage([THROUGHPUT_SHOP])) as stage:
            products, baseline = await warm_world(stage, CATALOGUE)
            runs.append(await measure(stage, products, count, baseline, f"throughput-{number}"))
            if number == total and "idle" in wanted:
                tables.append(await _idle(stage, size))
    return [t for t in [_table(runs, count), *tables] if t.scenario in wanted]


def _table(runs: list[Run], count: int) -> Table:
    exported = min(run.exported for run in runs)
    rate = Spread.of(runs, lambda r: r.rate)
    per_k = Spread.of(runs, lambda r: r.per_k(DAEMON))
    writes = sum(r.ffn_writes for r in runs) / max(1, sum(r.exported for r in runs))
    table = Table(
        "throughput",
        f"{count:,} paid orders waiting in a {THROUGHPUT_SHOP} sandbox, one `ffn-sync once` exports them to "
        f"the FFN sandbox (zero latency, FFN pacing 1000 req/s, 16 in flight); {len(runs)} run(s), each in "
        "a world of its own, median (min–max). End-to-end = from the daemon's first read of the shop's orders to the last "
        "outbound FFN received (process start-up not in it; see the process rows); CPU inside that span.",
    )
    table.add("orders exported", f"{exported:,} / {count:,}", verdict(exported == count))
    table.add("orders/s end-to-end", str(rate), f"≥ 500: {verdict(rate.median >= 500)}")
    table.add("daemon CPU s per 1k orders", str(per_k), f"≤ 1.0: {verdict(per_k.median <= 1.0)}")
    for name in sorted(n for n in runs[0].span_cpu_s if n != DAEMON):
        table.add(f"{name} CPU s per 1k orders", str(Spread([r.per_k(name) for r in runs])), "same span")
    table.add(
        "orders/s, first to last create",
        str(Spread.of(runs, lambda r: r.exported / max(1e-9, r.creates_s))),
        "",
    )
    table.add(
        "orders/s over the whole process", str(Spread.of(runs, lambda r: r.process_rate)), "start-up included"
    )
    table.add(
        "orders/s, process − baseline `once`",
        str(Spread.of(runs, lambda r: r.marginal_rate)),
        "the figure earlier results reported",
    )
    table.add(
        "daemon CPU s per 1k, process − baseline",
        str(Spread.of(runs, lambda r: r.marginal_per_k)),
        "the figure earlier results reported",
    )
    table.add(
        "postgres CPU s per 1k orders",
        str(Spread.of(runs, lambda r: r.postgres_cpu_s / max(1, r.exported) * 1000)),
        "whole `once`",
    )
    table.add("peak RSS (MB)", max(r.process.peak_rss_mb for r in runs), "< 200")
    table.add("FFN writes per order", writes, "≤ 1.01")
    table.add(
        "FFN reads per run",
        str(Spread.of(runs, lambda r: float(r.ffn_reads))),
        "feeds polled by the same run",
    )
    table.add(
        "load average (1 min) at the start",
        str(Spread.of(runs, lambda r: r.load)),
        "other work on the machine",
    )
    for number, run in enumerate(runs, 1):
        table.notes.append(
            f"run {number}: {run.rate:,.0f} orders/s, daemon {run.per_k(DAEMON):.2f} CPU s per 1k in "
            f"{run.span_s:.2f} s; process {run.process.wall_s:.2f} s / {run.process.cpu_s:.2f} CPU s, "
            f"baseline {run.baseline.wall_s:.2f} s / {run.baseline.cpu_s:.2f} CPU s; load {run.load:.2f}; "
            f"placing the orders took {run.placed_s:.1f} s (not counted)"
        )
    return table


async def _idle(stage: Stage, size: Size) -> Table:
    # Settle first: the FFN lane of the measured run read stock while orders were still being reserved.
    await run_once(stage, "settle")
    await forget_cursors(stage)
    controls = {"ffn": stage.ffn, **stage.shops}
    since = {kind: await log_position(control) for kind, control in controls.items()}
    await run_once(stage, "idle")
    writes = [e for e in await traffic(stage.ffn, since["ffn"]) if ffn_is_write(e)]
    shop = SHOPS[THROUGHPUT_SHOP]
    shop_calls = await traffic(stage.shops[THROUGHPUT_SHOP], since[THROUGHPUT_SHOP])
    ffn_calls = await traffic(stage.ffn, since["ffn"])
    shop_writes = sum(1 for e in shop_calls if shop.is_write(e))
    ffn_writes = sum(1 for e in ffn_calls if ffn_is_write(e))
    order_reads = [e for e in shop_calls if shop.is_read(e) and e["path"].endswith("/orders")]
    catch_up, reconcile = _split_by_window(order_reads)
    pulled = await _pulled_orders(stage)
    pages = max(1, math.ceil(pulled / WOO_PAGE_SIZE))
    windows = len({_window(e) for e in catch_up})
    ideal = pages + max(0, windows - 1)  # the data sits in one window; every other window costs one read
    table = Table(
        "idle",
        "The same world again with nothing changed: cursors forgotten (as after a lost cursor or a resync), "
        "one `ffn-sync once` re-reads every order, product, shipment and stock change.",
    )
    table.add("writes to the shop", shop_writes, f"0: {verdict(shop_writes == 0)}")
    table.add("writes to FFN", ffn_writes, f"0: {verdict(ffn_writes == 0)}")
    table.add("orders re-read", pulled, "")
    table.add("order read calls, orders flow", len(catch_up), f"{windows} catch-up windows of ≤ 1 day")
    table.add("orders-flow reads per page", len(catch_up) / ideal, f"≤ 1: {verdict(len(catch_up) <= ideal)}")
    table.add("order read calls, reconcile pass", len(reconcile), f"pages of {WOO_PAGE_SIZE}: {pages}")
    table.add("shop read calls (all)", sum(1 for e in shop_calls if shop.is_read(e)), "")
    table.add("FFN read calls (all)", sum(1 for e in ffn_calls if ffn_is_read(e)), "")
    writes += [e for e in shop_calls if shop.is_write(e)]
    for entry in writes[:5]:
        body = str(entry.get("request_body", ""))[:160].replace("|", "/")
        table.notes.append(f"write: {entry['method']} {entry['path']} {body}")
    return table


async def _pulled_orders(stage: Stage) -> int:
    value = await stage.pool.fetchval(
        "SELECT sum((last_counts->>'pulled')::int) FROM flow_health WHERE flow = 'orders'"
    )
    return int(value or 0)


def _window(entry: dict[str, object]) -> tuple[str, str]:
    query = parse_qs(str(entry.get("query", "")))
    return query.get("modified_after", [""])[0], query.get("modified_before", [""])[0]


def _split_by_window(
    reads: list[dict[str, object]],
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Catch-up reads (windows of at most a day) apart from the reconcile pass (one window over days)."""
    catch_up: list[dict[str, object]] = []
    reconcile: list[dict[str, object]] = []
    for entry in reads:
        after, before = _window(entry)
        try:
            span = datetime.fromisoformat(before) - datetime.fromisoformat(after)
        except ValueError:
            span = timedelta(0)
        (reconcile if span > timedelta(days=1, minutes=5) else catch_up).append(entry)
    return catch_up, reconcile
