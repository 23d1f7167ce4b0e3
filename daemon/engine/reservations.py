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
from daemon.engine.cycle import CycleCounts
from daemon.engine.flows.orders import REASON_WAITING, order_row
from daemon.engine.pull import store_rows
from daemon.engine.snapshot import ENTITY_ORDER, Pulled
from daemon.errors import SyncError
from daemon.model import OutboundStatus, Window
from daemon.secrets import redact

# The longest an exported order keeps reserving while FFN's stock does not show it yet.
HANDOVER_S = 900

# One row per reserved line: (channel, order_id, label, sku, quantity). $1 = merchant.
# An order just exported keeps its lines reserved until FFN's stock shows FFN's own reservation (the stock
# feed trails by its lag): otherwise every export would hand its units out once, for a cycle or two.
RESERVED_LINES = f"""
SELECT s.channel, s.external_id AS order_id, s.label, l->>'sku' AS sku, (l->>'quantity')::numeric AS quantity
FROM snapshot s, jsonb_array_elements(coalesce(s.payload->'lines', '[]'::jsonb)) AS l
WHERE s.merchant_id = $1 AND s.entity = 'order'
  AND NOT coalesce((s.payload->>'cancelled')::boolean, false)
  AND NOT coalesce((s.payload->>'test')::boolean, false)
  AND coalesce((l->>'requires_shipping')::boolean, true)
  AND l->>'sku' IS NOT NULL AND (l->>'quantity')::numeric > 0
  AND (
    (s.remote_status IS NULL
     AND (s.state IN ('pending', 'failed') OR (s.state = 'skipped' AND s.reason_code = '{REASON_WAITING}')))
    OR (s.remote_status = '{OutboundStatus.PENDING.value}'
        AND s.pushed_at > now() - interval '{HANDOVER_S} seconds'
        AND s.pushed_at > coalesce(
            (SELECT max(f.updated_at) FROM ffn_stock f WHERE f.merchant_id = $1 AND f.sku = l->>'sku'),
            '-infinity'::timestamptz))
  )
"""

# Every SKU whose target differs from what the shop ($2) was last told; $3 = the channel's stock_buffer.
CHANGED_TARGETS = f"""
WITH reserved AS (
    SELECT r.sku, sum(r.quantity) AS quantity FROM ({RESERVED_LINES}) AS r GROUP BY r.sku
), target AS (
    SELECT f.sku, greatest(0, floor(f.available - coalesce(r.quantity, 0)) - $3)::int AS quantity
    FROM ffn_stock f LEFT JOIN reserved r ON r.sku = f.sku
    WHERE f.merchant_id = $1 AND f.sku IS NOT NULL
)
SELECT t.sku, t.quantity, p.failure, p.reported_at FROM target t
LEFT JOIN shop_stock p ON p.merchant_id = $1 AND p.channel = $2 AND p.sku = t.sku
WHERE p.quantity IS DISTINCT FROM t.quantity
ORDER BY t.sku
"""

# A re-read is one window since the last orders pull; more than this means the orders flow is far behind,
# and the write goes ahead with what was read (the orders flow catches up on the rest).
REREAD_LIMIT = 250


async def reread_changed_orders(
    ctx: MerchantContext, channels: Sequence[str], counts: CycleCounts
) -> set[str]:
    """Read the orders each shop changed since its last orders pull into the snapshot, so an order placed
    a moment ago reserves its units in the write that follows. Returns the shops that could not be read."""
    unread: set[str] = set()
    for name in channels:
        shop = ctx.channels.get(name)
        since = await ctx.cursors.get(name, "orders")
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
            orders = shop.changed_orders(window)
            try:
                async for order in orders:
                    rows.append(order_row(order, name)[1])
                    if len(rows) >= REREAD_LIMIT:
                        logger.warning(
                            "{} orders of {} changed since the last orders pull; stock reserves the first {} "
                            "now, the orders flow reads the rest",
                            REREAD_LIMIT,
                            name,
                            REREAD_LIMIT,
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
        logger.debug(
            "re-read {} orders of {} before the stock write ({} new or changed) in {:.0f} ms",
            len(rows),
            name,
            len(changed),
            (time.monotonic() - started) * 1000,
        )
    return unread
