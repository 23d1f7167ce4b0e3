"""What every scenario shares: the stage options and the warmed-up world (products in FFN, stock booked)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from bench.daemon_proc import ProcessCost, run_once
from bench.probes import STOCK_LEVEL
from sandboxes.world.catalogue import Product, book_stock, new_catalogue
from sandboxes.world.errors import WorldError
from sandboxes.world.merchant import MerchantFile, Timing
from sandboxes.world.stage import Stage, StageOptions

# `once` ignores intervals; no lag, so orders placed a moment ago are in the window.
ONCE_TIMING = Timing(
    orders_s=60, products_s=60, stock_s=60, shipments_s=60, status_s=60, reconcile_s=3600, lag_s=0.0
)
# Longer than any cursor lag the scenarios configure, and than the one-second resolution of shop timestamps
# (WooCommerce, Shopify): records stamped in the window's last second would otherwise wait for the next run.
LAG_RETRY_S = 1.2
THROUGHPUT_SHOP = "woocommerce"  # no API rate limit: the daemon's own cost is what is measured


KEEP_WORK_DIRS = False  # `python -m bench --keep`: leave configs, daemon logs and databases for inspection


def bench_stage(shops: Sequence[str] | None, timing: Timing = ONCE_TIMING) -> StageOptions:
    # FFN pacing at its maximum: the sandboxes answer at once, so the daemon is the bottleneck.
    return StageOptions(
        shops=tuple(shops) if shops is not None else None,
        merchant=MerchantFile(timing=timing, ffn_requests_per_second=1000.0, ffn_max_concurrency=16),
        keep=KEEP_WORK_DIRS,
    )


async def warm_world(stage: Stage, products: int, prefix: str = "BENCH") -> tuple[list[Product], ProcessCost]:
    """Catalogue in the shops → FFN (one ``once``), FFN stock booked; then a baseline ``once`` with nothing
    new, whose wall and CPU time (start-up, migrations check, empty polls) later runs subtract."""
    items = await new_catalogue(stage.shops.values(), products, prefix)
    await products_in_ffn(stage, items)
    await book_stock(stage.ffn, [p.sku for p in items], STOCK_LEVEL)
    await run_once(stage, "warmup-stock")  # the booked stock reaches the shops
    baseline = await run_once(stage, "baseline")
    return items, baseline


async def products_in_ffn(stage: Stage, items: Sequence[Product], attempts: int = 3) -> None:
    """``once`` until every product is in FFN (a cursor lag can leave products made a moment ago out)."""
    wanted = {p.sku for p in items}
    known: set[object] = set()
    for attempt in range(attempts):
        known = {p.get("merchantSku") for p in await stage.ffn.get("products")}
        if wanted <= known:
            return
        await asyncio.sleep(LAG_RETRY_S)
        await run_once(stage, f"products-{attempt}")
    known = {p.get("merchantSku") for p in await stage.ffn.get("products")}
    if wanted <= known:
        return
    raise WorldError(
        f"{len(wanted - known)} products did not reach FFN after {attempts} runs of `ffn-sync once`"
    )
