"""Latency under a steady stream: order→FFN, shipment→shop and stock→shop with ``ffn-sync run``.

Order latency is measured from the moment the shop confirmed the order (harness clock, sub-millisecond)
to the outbound's recorded push; shipment latency from FFN's shipping date to the fulfilment's recorded
push; stock latency from a level change booked in FFN to the moment the shop's control API shows it.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence

from bench.daemon_proc import DaemonProcess
from bench.report import Table, verdict
from bench.scenarios.common import bench_stage, warm_world
from bench.sizes import Size
from bench.world import book_stock, seed_products
from daemon.demo.control import Control
from daemon.demo.merchant_config import MERCHANT_ID, Timing
from daemon.demo.stage import Stage, staged
from daemon.demo.stats import percentile, snapshot_latencies
from daemon.demo.world import CreatedOrder, Product, catalogue, order_stream

CATALOGUE = 30
PROBES = 3
PROBE_POLL_S = 0.2
SETTLE_FACTOR = 3.0  # after the stream: wait up to this many intervals for the last records


def _timing(interval_s: float) -> Timing:
    return Timing(
        orders_s=interval_s,
        products_s=interval_s,
        stock_s=interval_s,
        shipments_s=interval_s,
        status_s=interval_s,
        reconcile_s=3600.0,
        lag_s=1.0,
        overlap_s=30.0,
    )


async def run(size: Size, wanted: set[str]) -> list[Table]:
    interval = size.latency_interval_s
    async with staged(bench_stage(None, _timing(interval))) as stage:
        return [await _measure(stage, size, interval)]


async def _measure(stage: Stage, size: Size, interval: float) -> Table:
    products, _ = await warm_world(stage, CATALOGUE)
    probes = catalogue(PROBES, "PROBE")
    await seed_products(list(stage.shops.values()), probes)
    await stage.ffn.put("autopilot", {"ship_after_s": 1.0, "partial_ratio": 0.0})
    daemon = DaemonProcess(stage, "run", "latency")
    created: list[CreatedOrder] = []
    stock_latencies: list[float] = []
    try:
        await _wait_products_in_ffn(stage.ffn, probes, timeout_s=interval * 4 + 10)
        await book_stock(stage.ffn, [p.sku for p in probes], 100)
        await _wait_stock(stage, probes, 100, timeout_s=interval * 4 + 10)
        until = time.monotonic() + size.latency_seconds
        await asyncio.gather(
            order_stream(stage.shops, products, size.latency_rate, until, created, announce=False),
            _stock_probes(stage, probes, until, interval, stock_latencies),
        )
        await _settle(stage, len(created), timeout_s=interval * SETTLE_FACTOR + 10)
    finally:
        cost = await daemon.finish(stop=True)
    order_lat = await _order_latencies(stage, created)
    ship_lat = await snapshot_latencies(stage.pool, MERCHANT_ID, "shipment")
    target = interval + 2.0
    p99_order = percentile(order_lat, 0.99)
    table = Table(
        "latency",
        f"`ffn-sync run` with every flow polling every {interval:g} s"
        + (" (shortened from the production 30 s to fit the small size)" if interval < 30 else "")
        + f", cursor lag 1 s; {size.latency_rate:g} orders/s for {size.latency_seconds:g} s over "
        f"{', '.join(stage.shops)}; FFN autopilot ships 1 s after an outbound appears.",
    )
    table.add("orders placed / exported", f"{len(created)} / {len(order_lat)}", "")
    table.add("order → FFN p50 (s)", percentile(order_lat, 0.5) or 0.0, "")
    table.add(
        "order → FFN p99 (s)",
        p99_order if p99_order is not None else "-",
        f"≤ interval + 2 s = {target:g}: {verdict(p99_order is not None and p99_order <= target)}",
    )
    table.add("shipment → shop p99 (s)", percentile(ship_lat, 0.99) or "-", f"n={len(ship_lat)}")
    table.add("stock → shop p99 (s)", percentile(stock_latencies, 0.99) or "-", f"n={len(stock_latencies)}")
    table.add("daemon CPU s / peak RSS (MB)", f"{cost.cpu_s:.1f} / {cost.peak_rss_mb:.0f}", "whole run")
    return table


async def _wait_products_in_ffn(ffn: Control, products: Sequence[Product], timeout_s: float) -> None:
    from daemon.demo.world import wait_for_ffn_products

    await wait_for_ffn_products(ffn, [p.sku for p in products], timeout_s)


async def _shop_levels(stage: Stage, sku: str) -> list[object]:
    levels = []
    for control in stage.shops.values():
        levels.append((await control.get("stock")).get(sku))
    return levels


async def _wait_stock(stage: Stage, probes: Sequence[Product], level: int, timeout_s: float) -> float | None:
    """Seconds until every shop shows ``level`` for every probe SKU; None on timeout."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        seen = [await _shop_levels(stage, p.sku) for p in probes]
        if all(all(v == level for v in levels) for levels in seen):
            return time.monotonic() - started
        await asyncio.sleep(PROBE_POLL_S)
    return None


async def _stock_probes(
    stage: Stage, probes: Sequence[Product], until: float, interval: float, out: list[float]
) -> None:
    """Book a new level on one probe SKU (never ordered), time until every shop shows it; repeat."""
    rng = random.Random(5)
    index = 0
    while time.monotonic() < until:
        probe = probes[index % len(probes)]
        level = rng.randrange(1, 10_000)
        await stage.ffn.put(f"stock/{probe.sku}", {"level": level})
        took = await _wait_stock(stage, [probe], level, timeout_s=interval * SETTLE_FACTOR + 10)
        if took is not None:
            out.append(took)
        index += 1
        await asyncio.sleep(rng.uniform(0.0, interval))  # land at varying points of the poll cycle


async def _settle(stage: Stage, placed: int, timeout_s: float) -> None:
    """Wait until every placed order is in FFN and no shipment waits for its shop (or the timeout)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        row = await stage.pool.fetchrow(
            "SELECT count(*) FILTER (WHERE entity = 'order' AND remote_id IS NOT NULL) AS exported,"
            " count(*) FILTER (WHERE entity = 'shipment' AND state = 'pending') AS waiting"
            " FROM snapshot"
        )
        shipped = len(await stage.ffn.get("shipping-notifications"))
        synced = await stage.pool.fetchval(
            "SELECT count(*) FROM snapshot WHERE entity = 'shipment' AND state = 'synced'"
        )
        if row is not None and row["exported"] >= placed and row["waiting"] == 0 and synced >= shipped:
            return
        await asyncio.sleep(0.5)


async def _order_latencies(stage: Stage, created: Sequence[CreatedOrder]) -> list[float]:
    rows = await stage.pool.fetch(
        "SELECT external_id, extract(epoch FROM pushed_at)::float8 AS pushed FROM snapshot"
        " WHERE entity = 'order' AND remote_id IS NOT NULL AND pushed_at IS NOT NULL"
    )
    pushed = {str(r["external_id"]): float(r["pushed"]) for r in rows}
    matched = [pushed[o.id] - o.created_at for o in created if o.id in pushed]
    if len(matched) >= 0.9 * len(pushed):
        return [max(0.0, v) for v in matched]
    # The channel keys orders differently from the control API's id: fall back to the shop's own stamp.
    return await snapshot_latencies(stage.pool, MERCHANT_ID, "order")
