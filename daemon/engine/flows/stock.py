"""Stock: FFN stock changes → every shop of the merchant, only changed values, batched."""

from __future__ import annotations

from collections.abc import AsyncIterator

from daemon.engine.context import FFN_CHANNEL, MerchantContext
from daemon.engine.cursors import next_window
from daemon.engine.cycle import CycleCounts
from daemon.engine.stock import push_to_shops, store_levels
from daemon.model import StockLevel

PAGE = 1000


async def run(ctx: MerchantContext, counts: CycleCounts) -> None:
    settings = ctx.settings.ffn_cursor
    position = await ctx.cursors.get(FFN_CHANNEL, "stock")
    now = ctx.clock.now()
    overlap = ctx.overlaps.overlap_s(FFN_CHANNEL, "stock", now, settings)
    while (window := next_window(position, now, settings, overlap_s=overlap)) is not None:
        if position is not None and window.end <= position:
            break
        await _consume(ctx, ctx.fulfiller.stock_changes(window), counts, authoritative=False)
        async with ctx.pool.acquire() as conn, conn.transaction():
            await ctx.cursors.advance(conn, FFN_CHANNEL, "stock", window.end)
        counts.lag_s = (ctx.clock.now() - window.end).total_seconds()
        position = window.end
    # Pending orders change targets too, so the shops are compared even without new FFN changes.
    await push_to_shops(ctx, counts)


async def _consume(
    ctx: MerchantContext, levels: AsyncIterator[StockLevel], counts: CycleCounts, *, authoritative: bool
) -> None:
    page: list[StockLevel] = []
    async for level in levels:
        counts.pulled += 1
        page.append(level)
        if len(page) >= PAGE:
            counts.changed += await store_levels(ctx, page, authoritative=authoritative)
            page = []
    counts.changed += await store_levels(ctx, page, authoritative=authoritative)


async def reconcile_stock(ctx: MerchantContext, counts: CycleCounts) -> None:
    await _consume(ctx, ctx.fulfiller.stock_complete(), counts, authoritative=True)
    await push_to_shops(ctx, counts)
