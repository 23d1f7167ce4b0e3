"""Latency under a steady stream: order→FFN, shipment→shop and stock→shop with ``ffn-sync run``.

Order latency runs from the moment the shop confirmed the order (harness clock) to the outbound's
creation stamp in the FFN sandbox (same machine clock, milliseconds); shipment latency from FFN's
shipping date to the fulfilment's recorded push; stock latency from a level booked in FFN to the moment
the shop's control API shows it.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from datetime import datetime

from bench.daemon_proc import DaemonProcess
from bench.report import Table, verdict
from bench.scenarios.common import bench_stage, warm_world
from bench.sizes import Size
from sandboxes.demo.stats import percentile
from sandboxes.world.catalogue import (
    CreatedOrder,
    Product,
    book_stock,
    catalogue,
    order_stream,
    seed_products,
)
from sandboxes.world.control import Control
from sandboxes.world.errors import WorldError
from sandboxes.world.merchant import MERCHANT_ID, Timing
from sandboxes.world.shops import SHOPS
from sandboxes.world.stage import Stage, staged

CATALOGUE = 30
PROBES = 3
PROBE_POLL_S = 0.2
SETTLE_FACTOR = 3.0
OVERLAP_S = 10.0  # re-read window; on Shopify every re-read order costs query points  # after the stream: wait up to this many intervals for the last records


def _timing(interval_s: float) -> Timing:
    return Timing.every(interval_s, overlap_s=OVERLAP_S)


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
    stock_latencies: dict[str, list[float]] = {}
    try:
        await _wait_products_in_ffn(stage.ffn, probes, timeout_s=interval * 4 + 10)
        await book_stock(stage.ffn, [p.sku for p in probes], 100)
        if len(await _wait_stock(stage, probes, 100, timeout_s=interval * 4 + 10)) < len(stage.shops):
            raise WorldError("the booked probe stock did not reach every shop: the stock flow is not working")
        until = time.monotonic() + size.latency_seconds
        await asyncio.gather(
            order_stream(stage.shops, products, size.latency_rate, until, created, announce=False),
            _stock_probes(stage, probes, until, interval, stock_latencies),
        )
        await _settle(stage, len(created), timeout_s=interval * SETTLE_FACTOR + 10)
    finally:
        cost = await daemon.finish(stop=True)
    order_by_kind = await _order_latencies(stage, created)
    order_lat = [v for values in order_by_kind.values() for v in values]
    ship_by_channel = await _shipment_latencies(stage)
    ship_lat = [v for values in ship_by_channel.values() for v in values]
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
    for kind, values in sorted(order_by_kind.items()):
        p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
        table.add(f"order → FFN {kind} p50 / p99 (s)", f"{p50 or 0:.2f} / {p99 or 0:.2f}", f"n={len(values)}")
    table.add("shipment → shop p99 (s)", percentile(ship_lat, 0.99) or "-", f"n={len(ship_lat)}")
    for channel, values in sorted(ship_by_channel.items()):
        table.add(f"shipment → {channel} p99 (s)", percentile(values, 0.99) or "-", f"n={len(values)}")
    all_stock = [v for values in stock_latencies.values() for v in values]
    table.add("stock → shop p99 (s)", percentile(all_stock, 0.99) or "-", f"n={len(all_stock)}")
    for kind, values in sorted(stock_latencies.items()):
        table.add(f"stock → {kind} p99 (s)", percentile(values, 0.99) or "-", f"n={len(values)}")
    table.add("daemon CPU s / peak RSS (MB)", f"{cost.cpu_s:.1f} / {cost.peak_rss_mb:.0f}", "whole run")
    return table


async def _wait_products_in_ffn(ffn: Control, products: Sequence[Product], timeout_s: float) -> None:
    from sandboxes.world.catalogue import wait_for_ffn_products

    await wait_for_ffn_products(ffn, [p.sku for p in products], timeout_s)


async def _wait_stock(
    stage: Stage, probes: Sequence[Product], level: int, timeout_s: float
) -> dict[str, float]:
    """Per shop: seconds until it shows ``level`` for every probe SKU (shops that never do are left out)."""
    started = time.monotonic()
    seen: dict[str, float] = {}
    while len(seen) < len(stage.shops) and time.monotonic() - started < timeout_s:
        for kind, control in stage.shops.items():
            if kind in seen:
                continue
            levels = await control.get("stock")
            if all(levels.get(p.sku) == level for p in probes):
                seen[kind] = time.monotonic() - started
        await asyncio.sleep(PROBE_POLL_S)
    return seen


async def _stock_probes(
    stage: Stage, probes: Sequence[Product], until: float, interval: float, out: dict[str, list[float]]
) -> None:
    """Book a new level on one probe SKU (never ordered), time until each shop shows it; repeat."""
    rng = random.Random(5)
    index = 0
    while time.monotonic() < until:
        probe = probes[index % len(probes)]
        level = rng.randrange(1, 10_000)
        await stage.ffn.put(f"stock/{probe.sku}", {"level": level})
        took = await _wait_stock(stage, [probe], level, timeout_s=interval * SETTLE_FACTOR + 10)
        for kind, seconds in took.items():
            out.setdefault(kind, []).append(seconds)
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


async def _order_latencies(stage: Stage, created: Sequence[CreatedOrder]) -> dict[str, list[float]]:
    """Per shop kind: seconds from the shop's confirmation (harness clock) to the outbound's creation in FFN.

    FFN's own creation stamp is used, not the snapshot's ``pushed_at``: that one moves again whenever the
    shop order changes later (e.g. when the shipment marks it completed)."""
    created_in_ffn: dict[str, float] = {}
    for outbound in await stage.ffn.get("outbounds"):
        stamp = datetime.fromisoformat(str(outbound["modificationInfo"]["createdAt"])).timestamp()
        created_in_ffn[str(outbound["merchantOutboundNumber"])] = stamp
    by_kind: dict[str, list[float]] = {}
    for order in created:
        number = SHOPS[order.kind].order_prefix + order.number
        if number in created_in_ffn:
            by_kind.setdefault(order.kind, []).append(max(0.0, created_in_ffn[number] - order.created_at))
    return by_kind


async def _shipment_latencies(stage: Stage) -> dict[str, list[float]]:
    """Per channel: FFN shipping date → the fulfilment's recorded push (shipments are pushed once)."""
    rows = await stage.pool.fetch(
        "SELECT channel, extract(epoch FROM pushed_at - source_created_at)::float8 AS seconds FROM snapshot"
        " WHERE merchant_id = $1 AND entity = 'shipment' AND state = 'synced'"
        " AND pushed_at IS NOT NULL AND source_created_at IS NOT NULL",
        MERCHANT_ID,
    )
    by_channel: dict[str, list[float]] = {}
    for row in rows:
        by_channel.setdefault(str(row["channel"]), []).append(max(0.0, float(row["seconds"])))
    return by_channel
