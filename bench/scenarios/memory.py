"""Memory: the daemon's peak RSS while syncing N products and orders, then 10 × N, must stay flat."""

from __future__ import annotations

import asyncio

from bench.daemon_proc import ProcessCost, run_once
from bench.probes import STOCK_LEVEL, synced_orders
from bench.report import Table, verdict
from bench.scenarios.common import LAG_RETRY_S, THROUGHPUT_SHOP, bench_stage, products_in_ffn
from bench.sizes import Size
from sandboxes.world.catalogue import book_stock, catalogue, place_orders, seed_products
from sandboxes.world.stage import Stage, staged

FLAT_GROWTH = 1.25  # 10 × the data may cost at most this factor in peak RSS


async def run(size: Size, wanted: set[str]) -> list[Table]:
    n = size.memory_orders
    async with staged(bench_stage([THROUGHPUT_SHOP])) as stage:
        small = await _grow(stage, n, "MEMA", 0)
        large = await _grow(stage, 9 * n, "MEMB", n)
        exported = await synced_orders(stage)
    small_rss = max(c.peak_rss_mb for c in small)
    large_rss = max(c.peak_rss_mb for c in large)
    growth = large_rss / small_rss if small_rss else 0.0
    table = Table(
        "memory",
        f"Peak RSS of the daemon process (`ffn-sync once`, products then orders) syncing {n:,} products and "
        f"{n:,} orders, then {9 * n:,} more of each ({10 * n:,} in the database) through {THROUGHPUT_SHOP}.",
    )
    table.add(f"peak RSS at {n:,} (MB)", small_rss, "")
    table.add(f"peak RSS at {10 * n:,} (MB)", large_rss, f"< 200: {verdict(large_rss < 200)}")
    table.add(
        "growth for 10 × the data", f"{growth:.2f}×", f"≤ {FLAT_GROWTH}×: {verdict(growth <= FLAT_GROWTH)}"
    )
    table.add("orders exported", f"{exported:,} / {10 * n:,}", verdict(exported == 10 * n))
    return [table]


async def _grow(stage: Stage, count: int, prefix: str, start: int) -> list[ProcessCost]:
    """``count`` new products (to FFN, stock booked) and ``count`` new orders over them, each synced."""
    products = catalogue(count, prefix)
    shop = stage.shops[THROUGHPUT_SHOP]
    await seed_products([shop], products)
    await asyncio.sleep(LAG_RETRY_S)
    products_run = await run_once(stage, f"memory-{prefix}-products")
    await products_in_ffn(stage, products)  # again only if a cursor lag left some out
    await book_stock(stage.ffn, [p.sku for p in products], STOCK_LEVEL)
    await place_orders(shop, THROUGHPUT_SHOP, products, count, start=start)
    await asyncio.sleep(LAG_RETRY_S)
    orders_run = await run_once(stage, f"memory-{prefix}-orders")
    return [products_run, orders_run]
