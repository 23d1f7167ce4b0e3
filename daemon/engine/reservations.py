"""The stock formula, written once, and the re-read of changed orders that keeps it current.

    shop quantity = max(0, floor(FFN stockLevel − reserved) − stock_buffer)
    reserved      = Σ quantities of the lines of every open order (any shop of the merchant) that FFN will
                    ship but whose units FFN's stock does not show as taken yet

An order reserves from the moment we read it: while the gate has not decided, while it waits (unpaid,
held, not yet in an exporting status, hold time) and while it is parked (a mapping refused it, or it is
unreadable: the lines that could be read). It stops when FFN's stock shows the outbound (FFN's own
reservation takes over), when it is cancelled, or when the gate says never (test, skip-tagged, before
import_since, nothing the warehouse ships). Only lines the warehouse ships count: with an SKU, quantity > 0,
requiring shipping, at the FFN location (adapters leave other locations' quantities out).
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Sequence
from datetime import timedelta

from loguru import logger

from daemon.engine.context import MerchantContext
from daemon.engine.cursors import TAIL_OVERLAP_S
from daemon.engine.flow import CycleCounts
from daemon.engine.flows.orders import ORDERS, order_row
from daemon.engine.pull import store_rows
from daemon.engine.rereads import orders_behind
from daemon.engine.windows import read_position
from daemon.errors import SyncError
from daemon.model import Window
from daemon.ports import OrderVersions
from daemon.secrets import redact
from daemon.store.snapshot import ENTITY_ORDER, Pulled

# A re-read is one page: the orders placed since the last orders pull, normally a handful. More means the
# orders flow is catching up a backlog; the first page is reserved now and the orders flow reads the rest.
REREAD_LIMIT = 50


async def reread_changed_orders(
    ctx: MerchantContext, channels: Sequence[str], counts: CycleCounts
) -> set[str]:
    """Read the orders each shop changed since its last orders pull into the snapshot, so an order placed
    a moment ago reserves its units in the write that follows. Returns the shops that could not be read."""
    unread: set[str] = set()
    for name in channels:
        shop = ctx.channels.get(name)
        # Past the cursor as far as the orders flow has listed since without moving it (windows.py).
        since = read_position(ctx, name, ORDERS.name, await ctx.cursors.get(name, ORDERS.name))
        if shop is None or since is None:
            continue  # never pulled: the orders flow's first window is the read
        now = ctx.clock.now()
        # Whole seconds (shop APIs filter to the second), up to and including the current one.
        window = Window(
            since - timedelta(seconds=TAIL_OVERLAP_S), now.replace(microsecond=0) + timedelta(seconds=1)
        )
        started = time.monotonic()
        rows: list[Pulled] = []
        try:
            # Most of the window is normally stored already (webhook-triggered reads, the last poll): a shop
            # whose full reads are dear lists versions and reads in full only what the snapshot lacks
            # (Shopify: ~1 point per listed order instead of ~18 per read, which drained the bucket that
            # the triggered reads of new orders wait on).
            orders = (
                orders_behind(ctx, name, shop, window)
                if isinstance(shop, OrderVersions)
                else shop.changed_orders(window)
            )
            try:
                async for order in orders:
                    rows.append(order_row(order))
                    if len(rows) >= REREAD_LIMIT:
                        logger.debug(
                            "re-read of {} stopped at {} orders: the orders flow is behind", name, len(rows)
                        )
                        break
            finally:
                if isinstance(orders, AsyncGenerator):
                    await orders.aclose()  # release the page request a break left open
        except SyncError as exc:
            unread.add(name)
            counts.failed += 1
            logger.warning(
                "stock not written to {}: re-reading its new orders failed: {}", name, redact(str(exc))
            )
            continue
        counts.pulled += len(rows)
        async with ctx.pool.acquire() as conn:
            changed = await store_rows(ctx, conn, name, ENTITY_ORDER, rows)
        counts.changed += len(changed)
        if changed:  # they reserve in every shop: the others compare too (this one recomputes now)
            ctx.stock_changes.announce(but=name)
        logger.debug(
            "re-read {} orders of {} before the stock write ({} new or changed) in {:.0f} ms",
            len(rows),
            name,
            len(changed),
            (time.monotonic() - started) * 1000,
        )
    return unread
