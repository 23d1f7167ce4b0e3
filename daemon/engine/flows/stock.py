"""Stock: FFN stock changes → every shop of the merchant, only changed values, batched.

The daemon runs this as one merchant job that reads FFN (``pull``) and one job per shop that writes
(``push``): a shop that hangs or refuses delays and backs off only its own job.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from daemon.engine.context import FFN_CHANNEL, MerchantContext
from daemon.engine.cycle import CycleCounts
from daemon.engine.settings import ChannelSettings
from daemon.engine.stock import push_to_shop, push_to_shops, store_levels
from daemon.engine.windows import due_windows
from daemon.model import StockLevel

PAGE = 1000


async def run(ctx: MerchantContext, counts: CycleCounts) -> None:
    """Pull, then write to every shop in turn (in-process callers; the daemon splits the two)."""
    await pull(ctx, counts)
    await push_to_shops(ctx, counts)


async def pull(ctx: MerchantContext, counts: CycleCounts) -> None:
    settings = ctx.settings.ffn_cursor
    async for window in due_windows(ctx, FFN_CHANNEL, "stock", settings, counts):
        before = counts.pulled
        await _consume(ctx, ctx.fulfiller.stock_changes(window), counts, authoritative=False)
        if counts.pulled == before and ctx.quiet.cursor_may_stay(FFN_CHANNEL, "stock", window.end, settings):
            continue
        async with ctx.pool.acquire() as conn, conn.transaction():
            await ctx.cursors.advance(conn, FFN_CHANNEL, "stock", window.end)
        ctx.quiet.cursor_moved(FFN_CHANNEL, "stock", window.end)


async def push(ctx: MerchantContext, channel: ChannelSettings, counts: CycleCounts) -> None:
    # Pending orders change targets too, so the shop is compared even without new FFN changes.
    await push_to_shop(ctx, channel, counts)


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
    """The full FFN stock list; each shop's stock job writes what differs at its next run."""
    await _consume(ctx, ctx.fulfiller.stock_complete(), counts, authoritative=True)
