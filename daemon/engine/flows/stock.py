"""Stock: FFN stock changes → every shop of the merchant, only changed values, batched.

Two flows of one name: ``FFN_STOCK`` (one per merchant) reads FFN's changes into the stock table;
``SHOP_STOCK`` (one per shop) writes what differs to its shop: a shop that hangs or refuses delays and
backs off only its own job. A shop's job compares when what its targets depend on changed (triggered,
``engine.stock_changes``) and at its scheduled runs, the safety comparison every ``intervals.stock``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg

from daemon.engine.context import MerchantContext
from daemon.engine.cycle import CycleCounts, sync
from daemon.engine.flow import AnyFlow, Cycle, Flow, Scope
from daemon.engine.pull import pages
from daemon.engine.settings import ChannelSettings
from daemon.engine.stock import push_to_shop, push_to_shops, store_levels
from daemon.engine.stock_changes import RETRY_S
from daemon.model import StockLevel, Window

PAGE = 1000


def read_levels(cycle: Cycle, window: Window) -> AsyncIterator[StockLevel]:
    return cycle.ctx.fulfiller.stock_changes(window)


async def store_changes(cycle: Cycle, conn: asyncpg.Connection, levels: list[StockLevel]) -> int:
    return await store_levels(cycle.ctx, conn, levels, authoritative=False)


async def write_shop(cycle: Cycle) -> None:
    """Compare and write one shop: when triggered only if something changed since its last comparison
    (``engine.stock_changes``), at every scheduled run (the safety comparison) in any case."""
    changes, name, counts = cycle.ctx.stock_changes, cycle.shop.name, cycle.counts
    generation = await changes.begin(name)
    if generation is None:
        return
    clean = False
    try:
        await push_to_shop(cycle.ctx, cycle.shop, counts)
        clean = counts.failed == 0  # refused or unwritten SKUs, orders not re-read: again soon
    finally:
        changes.end(name, generation, clean=clean)


FFN_STOCK = Flow(
    name="stock",
    scope=Scope.MERCHANT,
    cursor=True,
    source=read_levels,
    store=store_changes,
    page_size=PAGE,
    moves_stock=True,
)
SHOP_STOCK: AnyFlow = Flow(
    name="stock",
    scope=Scope.CHANNEL,
    body=write_shop,
    # `once` runs it after the FFN stock pull and the orders, so one pass writes the result.
    phase=1,
    retry_s=RETRY_S,
)


async def run(ctx: MerchantContext, counts: CycleCounts) -> None:
    """Pull, then write to every shop in turn (in-process callers; the daemon splits the two)."""
    await pull(ctx, counts)
    await push_to_shops(ctx, counts)


async def pull(ctx: MerchantContext, counts: CycleCounts) -> None:
    await sync(ctx, FFN_STOCK, None, counts)


async def push(ctx: MerchantContext, channel: ChannelSettings, counts: CycleCounts) -> None:
    await sync(ctx, SHOP_STOCK, channel, counts)


async def reconcile_stock(ctx: MerchantContext, counts: CycleCounts) -> None:
    """The full FFN stock list; each shop's stock job writes what differs at its next run."""
    async for page in pages(ctx.fulfiller.stock_complete(), PAGE, counts):
        async with ctx.pool.acquire() as conn:
            counts.changed += await store_levels(ctx, conn, page.records, authoritative=True)
