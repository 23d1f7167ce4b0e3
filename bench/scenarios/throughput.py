"""Throughput (orders → FFN against zero-latency sandboxes) and the idle re-sync of the same world."""

from __future__ import annotations

import asyncio
import math
import time
from datetime import datetime, timedelta
from urllib.parse import parse_qs

from bench.cpu import CpuMeter
from bench.daemon_proc import run_once
from bench.probes import forget_cursors, log_position, synced_orders, traffic
from bench.report import Table, verdict
from bench.scenarios.common import LAG_RETRY_S, THROUGHPUT_SHOP, bench_stage, warm_world
from bench.sizes import Size
from sandboxes.world.catalogue import place_orders
from sandboxes.world.shops import SHOPS, ffn_is_read, ffn_is_write
from sandboxes.world.stage import Stage, staged

CATALOGUE = 50
WOO_PAGE_SIZE = 100  # per_page the WooCommerce channel asks for


async def run(size: Size, wanted: set[str]) -> list[Table]:
    async with staged(bench_stage([THROUGHPUT_SHOP])) as stage:
        tables = [await _throughput(stage, size)]
        if "idle" in wanted:
            tables.append(await _idle(stage, size))
    return [t for t in tables if t.scenario in wanted]


async def _throughput(stage: Stage, size: Size) -> Table:
    products, baseline = await warm_world(stage, CATALOGUE)
    ffn_since = await log_position(stage.ffn)
    started = time.monotonic()
    orders = await place_orders(
        stage.shops[THROUGHPUT_SHOP], THROUGHPUT_SHOP, products, size.throughput_orders
    )
    placed_s = time.monotonic() - started
    await asyncio.sleep(LAG_RETRY_S)
    meter = others_meter(stage)
    meter.start()
    cost = await run_once(stage, "throughput")
    others = meter.stop()
    exported = await synced_orders(stage)
    ffn_calls = await traffic(stage.ffn, ffn_since)
    wall, cpu = cost.minus(baseline)
    rate = exported / wall
    per_k = cpu / max(1, exported) * 1000
    ffn_writes = sum(1 for e in ffn_calls if ffn_is_write(e))
    table = Table(
        "throughput",
        f"{len(orders):,} paid orders waiting in a {THROUGHPUT_SHOP} sandbox, one `ffn-sync once` exports them "
        "to the FFN sandbox (zero latency, FFN pacing 1000 req/s, 16 in flight). Daemon process only; "
        "start-up and empty polls (a baseline `once`) subtracted.",
    )
    table.add("orders exported", f"{exported:,} / {len(orders):,}", verdict(exported == len(orders)))
    table.add("orders/s", rate, f"≥ 500: {verdict(rate >= 500)}")
    table.add("CPU s per 1k orders", per_k, "daemon process, user + system")
    table.add("peak RSS (MB)", cost.peak_rss_mb, "< 200")
    table.add("FFN writes per order", ffn_writes / max(1, exported), "≤ 1.01")
    table.add("FFN reads", sum(1 for e in ffn_calls if ffn_is_read(e)), "feeds polled by the same run")
    table.add("wall s (raw / baseline)", f"{cost.wall_s:.2f} / {baseline.wall_s:.2f}", "")
    table.add("CPU s (raw / baseline)", f"{cost.cpu_s:.2f} / {baseline.cpu_s:.2f}", "")
    for name, spent in sorted(others.items()):
        table.add(f"CPU s of {name}", spent, "same run, other process")
    table.notes.append(f"placing the orders through the control API took {placed_s:.1f} s (not counted)")
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


def others_meter(stage: Stage) -> CpuMeter:
    pids = {f"{kind} sandbox": sandbox.pid for kind, sandbox in stage.sandboxes.items()}
    return CpuMeter(pids, stage.work_dir / "state" / "pgdata")


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
