"""What every scenario shares: the stage options and the warmed-up world (products in FFN, stock booked)."""

from __future__ import annotations

from collections.abc import Sequence

from bench.daemon_proc import ProcessCost, run_once
from bench.world import book_stock, new_world
from daemon.demo.merchant_config import Timing
from daemon.demo.stage import Stage, StageOptions
from daemon.demo.world import Product

# `once` ignores intervals; no lag, so orders placed a moment ago are in the window.
ONCE_TIMING = Timing(
    orders_s=60, products_s=60, stock_s=60, shipments_s=60, status_s=60, reconcile_s=3600, lag_s=0.0
)
THROUGHPUT_SHOP = "woocommerce"  # no API rate limit: the daemon's own cost is what is measured


def bench_stage(shops: Sequence[str] | None, timing: Timing = ONCE_TIMING) -> StageOptions:
    # FFN pacing at its maximum: the sandboxes answer at once, so the daemon is the bottleneck.
    return StageOptions(
        shops=tuple(shops) if shops is not None else None,
        timing=timing,
        ffn_requests_per_second=1000.0,
        ffn_max_concurrency=16,
    )


async def warm_world(stage: Stage, products: int, prefix: str = "BENCH") -> tuple[list[Product], ProcessCost]:
    """Catalogue in the shops → FFN (one ``once``), FFN stock booked; then a baseline ``once`` with nothing
    new, whose wall and CPU time (start-up, migrations check, empty polls) later runs subtract."""
    items = await new_world(stage, products, prefix)
    await run_once(stage, "warmup")
    await book_stock(stage.ffn, [p.sku for p in items])
    await run_once(stage, "warmup-stock")  # the booked stock reaches the shops
    baseline = await run_once(stage, "baseline")
    return items, baseline
