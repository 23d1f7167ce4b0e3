"""Reconcile: the slow backstop for anything polling missed: full stock, and recent orders re-read."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from loguru import logger

from daemon.engine import history
from daemon.engine.context import MerchantContext
from daemon.engine.cycle import CycleCounts
from daemon.engine.flow import AnyFlow, Cycle, Flow, Scope
from daemon.engine.flows.orders import ORDERS, order_row
from daemon.engine.flows.stock import reconcile_stock
from daemon.engine.pull import pages, store_rows
from daemon.engine.rereads import orders_behind
from daemon.engine.settings import ChannelSettings
from daemon.errors import SyncError
from daemon.model import ShopOrder, Window
from daemon.ports import OrderVersions, UnreadableOrder
from daemon.secrets import redact
from daemon.store.snapshot import ENTITY_ORDER, Pulled, orders_not_in_ffn

REREAD_DEADLINE_S = 600.0  # a week of orders of one shop; a shop slower than this is treated as down
REREAD_PAGE = 500


async def run(ctx: MerchantContext, counts: CycleCounts) -> None:
    await reconcile(Cycle(ctx, None, counts))


async def reconcile(cycle: Cycle) -> None:
    ctx, counts = cycle.ctx, cycle.counts
    now = ctx.clock.now()
    # FFN's full stock first: it does not depend on any shop, so a hung shop cannot hold it up.
    before = counts.changed
    await reconcile_stock(ctx, counts)
    if counts.changed > before:
        logger.info("reconcile: {} stock levels differed from the delta feed", counts.changed - before)
    # Shops are re-read side by side, each under its own deadline: one hung shop delays only itself.
    await asyncio.gather(*(_reconcile_shop(ctx, settings, now, counts) for settings in ctx.settings.channels))
    await history.prune(ctx.pool, ctx.merchant_id, now)
    # Orders older than an hour that still have no outbound deserve an operator's look.
    stale = await orders_not_in_ffn(ctx.pool, ctx.merchant_id, now - timedelta(hours=1))
    if stale:
        shown = ", ".join(f"{channel}:{label}" for channel, label in stale[:10])
        logger.warning(
            "{} orders older than 1 h are not in FFN yet (see `ffn-sync failed`): {}", len(stale), shown
        )


RECONCILE: AnyFlow = Flow(name="reconcile", scope=Scope.MERCHANT, body=reconcile, moves_stock=True)


async def _reconcile_shop(
    ctx: MerchantContext, settings: ChannelSettings, now: datetime, counts: CycleCounts
) -> None:
    shop = ctx.channels.get(settings.name)
    if shop is None:
        return
    # Only what the orders cursor has passed can have been missed by polling; what lies ahead of it is
    # the next poll's (reading it here too would double the shop's load, e.g. while a backlog is read).
    cursor = await ctx.cursors.get(settings.name, ORDERS.name)
    if cursor is None:
        return  # never polled: the first poll reads its whole first window
    start = now - timedelta(days=ctx.settings.reconcile_days)
    end = min(now - timedelta(seconds=settings.cursor.lag_s), cursor)
    if end <= start:
        return
    window = Window(start, end)
    # A shop that lists versions cheaply is read in full only where the snapshot is behind.
    orders = (
        orders_behind(ctx, settings.name, shop, window, memory=ctx.reconciled)
        if isinstance(shop, OrderVersions)
        else shop.changed_orders(window)
    )
    try:
        async with asyncio.timeout(REREAD_DEADLINE_S):
            missed = await _reread_orders(ctx, settings.name, orders, counts, cursor)
    except TimeoutError:
        counts.failed += 1
        logger.error(
            "reconcile could not re-read orders of {}: no result within {:.0f}s",
            settings.name,
            REREAD_DEADLINE_S,
        )
        return
    except SyncError as exc:
        counts.failed += 1
        logger.error("reconcile could not re-read orders of {}: {}", settings.name, redact(str(exc)))
        return
    if missed:
        # Changed before the cursor passed them, yet not in the snapshot: polling missed these.
        logger.warning(
            "reconcile found {} orders of {} that polling had missed (now queued): {}",
            len(missed),
            settings.name,
            ", ".join(missed[:10]),
        )


async def _reread_orders(
    ctx: MerchantContext,
    channel: str,
    orders: AsyncIterator[ShopOrder | UnreadableOrder],
    counts: CycleCounts,
    cursor: datetime,
) -> list[str]:
    """Upsert the re-read orders; returns the numbers of those the orders cursor had already passed."""
    missed: list[str] = []
    async for page in pages(orders, REREAD_PAGE, counts):
        changed = set(await _store(ctx, channel, [order_row(o) for o in page.records]))
        counts.changed += len(changed)
        missed.extend(
            o.number or o.order_id
            for o in page.records
            if o.order_id in changed and o.updated_at and o.updated_at < cursor
        )
    return missed


async def _store(ctx: MerchantContext, channel: str, rows: list[Pulled]) -> list[str]:
    async with ctx.pool.acquire() as conn:
        return await store_rows(ctx, conn, channel, ENTITY_ORDER, rows)
