"""Reconcile: the slow backstop for anything polling missed: full stock, and recent orders re-read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

from loguru import logger

from daemon.engine.context import MerchantContext
from daemon.engine.cycle import CycleCounts
from daemon.engine.flows.orders import order_row
from daemon.engine.flows.stock import reconcile_stock
from daemon.engine.snapshot import ENTITY_ORDER, Pulled
from daemon.errors import SyncError
from daemon.model import ShopOrder, Window
from daemon.secrets import redact

_MISSING = """
SELECT channel, label FROM snapshot
WHERE merchant_id = $1 AND entity = 'order' AND remote_status IS NULL AND state IN ('pending', 'failed')
  AND source_created_at < $2 AND NOT (payload->>'cancelled')::boolean
ORDER BY source_created_at LIMIT 50
"""


async def run(ctx: MerchantContext, counts: CycleCounts) -> None:
    await reconcile_stock(ctx, counts)
    now = ctx.clock.now()
    for settings in ctx.settings.channels:
        shop = ctx.channels.get(settings.name)
        if shop is None:
            continue
        window = Window(
            now - timedelta(days=ctx.settings.reconcile_days), now - timedelta(seconds=settings.cursor.lag_s)
        )
        try:
            await _reread_orders(ctx, settings.name, shop.changed_orders(window), counts)
        except SyncError as exc:
            counts.failed += 1
            logger.error("reconcile could not re-read orders of {}: {}", settings.name, redact(str(exc)))
    if counts.changed:
        logger.warning(
            "reconcile found {} orders or stock levels that polling had missed; queued", counts.changed
        )
    # Orders older than an hour that still have no outbound deserve an operator's look.
    stale = await ctx.pool.fetch(_MISSING, ctx.merchant_id, now - timedelta(hours=1))
    if stale:
        shown = ", ".join(f"{r['channel']}:{r['label']}" for r in stale[:10])
        logger.warning(
            "{} orders older than 1 h are not in FFN yet (see `ffn-sync failed`): {}", len(stale), shown
        )


async def _reread_orders(
    ctx: MerchantContext, channel: str, orders: AsyncIterator[ShopOrder], counts: CycleCounts
) -> None:
    page: list[Pulled] = []
    async for order in orders:
        counts.pulled += 1
        page.append(order_row(order, channel)[1])
        if len(page) >= 500:
            counts.changed += await _store(ctx, channel, page)
            page = []
    counts.changed += await _store(ctx, channel, page)


async def _store(ctx: MerchantContext, channel: str, rows: list[Pulled]) -> int:
    async with ctx.pool.acquire() as conn:
        return await ctx.snapshot.upsert(conn, channel, ENTITY_ORDER, rows, now=ctx.clock.now())
