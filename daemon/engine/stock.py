"""Sellable stock per shop: FFN available − eligible orders not yet in FFN − the channel's buffer."""

from __future__ import annotations

from collections.abc import Iterable

from loguru import logger

from daemon.engine.context import MerchantContext
from daemon.engine.cycle import CycleCounts
from daemon.engine.settings import ChannelSettings
from daemon.engine.skus import remember
from daemon.errors import SyncError
from daemon.model import ItemResult, ShopStock, StockLevel

# Orders that are eligible or still undecided and not yet an FFN reservation hold stock too;
# counting them is what keeps a shop from selling the same unit twice between two cycles.
_CHANGED_TARGETS = """
WITH waiting AS (
    SELECT l->>'sku' AS sku, sum((l->>'quantity')::numeric) AS quantity
    FROM snapshot s, jsonb_array_elements(s.payload->'lines') AS l
    WHERE s.merchant_id = $1 AND s.entity = 'order' AND s.remote_status IS NULL
      AND s.state IN ('pending', 'failed') AND NOT (s.payload->>'cancelled')::boolean
      AND (l->>'requires_shipping')::boolean AND l->>'sku' IS NOT NULL
    GROUP BY 1
), target AS (
    SELECT f.sku, greatest(0, floor(f.available - coalesce(w.quantity, 0)) - $3)::int AS quantity
    FROM ffn_stock f LEFT JOIN waiting w ON w.sku = f.sku
    WHERE f.merchant_id = $1 AND f.sku IS NOT NULL
)
SELECT t.sku, t.quantity FROM target t
LEFT JOIN shop_stock p ON p.merchant_id = $1 AND p.channel = $2 AND p.sku = t.sku
WHERE p.quantity IS DISTINCT FROM t.quantity
ORDER BY t.sku
"""

_UPSERT_LEVELS = """
INSERT INTO ffn_stock AS f (merchant_id, jfsku, sku, available, reserved, blocked, version, updated_at)
SELECT $1, u.jfsku, u.sku, u.available, u.reserved, u.blocked, u.version, now()
FROM unnest($2::text[], $3::text[], $4::numeric[], $5::numeric[], $6::numeric[], $7::bigint[])
     AS u(jfsku, sku, available, reserved, blocked, version)
ON CONFLICT (merchant_id, jfsku) DO UPDATE SET
    sku = coalesce(excluded.sku, f.sku), available = excluded.available, reserved = excluded.reserved,
    blocked = excluded.blocked, version = coalesce(excluded.version, f.version), updated_at = now()
WHERE ($8 OR f.version IS NULL OR excluded.version IS NULL OR excluded.version > f.version)
  AND (f.available, f.reserved, f.blocked, f.sku) IS DISTINCT FROM
      (excluded.available, excluded.reserved, excluded.blocked, coalesce(excluded.sku, f.sku))
RETURNING jfsku
"""

UNKNOWN_SKU_MARKERS = ("unknown sku", "not found")


async def store_levels(
    ctx: MerchantContext, levels: Iterable[StockLevel], *, authoritative: bool = False
) -> int:
    """Record FFN levels (newest version wins unless ``authoritative``); returns how many changed."""
    latest: dict[str, StockLevel] = {}
    for level in levels:
        known = latest.get(level.jfsku)
        if known is None or (level.version or 0) >= (known.version or 0):
            latest[level.jfsku] = level
    if not latest:
        return 0
    values = list(latest.values())
    async with ctx.pool.acquire() as conn, conn.transaction():
        await remember(conn, ctx.merchant_id, [(v.merchant_sku, v.jfsku) for v in values if v.merchant_sku])
        rows = await conn.fetch(
            _UPSERT_LEVELS,
            ctx.merchant_id,
            [v.jfsku for v in values],
            [v.merchant_sku for v in values],
            [v.available for v in values],
            [v.reserved for v in values],
            [v.blocked for v in values],
            [v.version for v in values],
            authoritative,
        )
    return len(rows)


STOCK_PAGE = 250  # SKUs per write call: each page is settled before the next, under its own deadline


async def push_to_shops(ctx: MerchantContext, counts: CycleCounts) -> None:
    """Every shop in turn (``once`` and tests); the daemon runs ``push_to_shop`` as one job per shop."""
    for settings in ctx.settings.channels:
        await push_to_shop(ctx, settings, counts)


async def push_to_shop(ctx: MerchantContext, settings: ChannelSettings, counts: CycleCounts) -> None:
    """Write every changed target quantity to one shop, a page at a time.

    A shop that fails as a whole (down, hung, credentials revoked) raises: the job of this shop fails
    and backs off, the other shops' jobs are not affected. Pages already written stay settled.
    """
    name = settings.name
    shop = ctx.channels.get(name)
    if shop is None:
        return
    rows = await ctx.pool.fetch(_CHANGED_TARGETS, ctx.merchant_id, name, settings.stock_buffer)
    wanted = [ShopStock(sku=row["sku"], quantity=row["quantity"]) for row in rows]
    for start in range(0, len(wanted), STOCK_PAGE):
        page = wanted[start : start + STOCK_PAGE]
        try:
            results = await shop.set_stock(page)
        except SyncError:
            counts.failed += len(wanted) - start
            raise
        await _settle(ctx, name, page, results, counts)


async def _settle(
    ctx: MerchantContext, name: str, page: list[ShopStock], results: list[ItemResult], counts: CycleCounts
) -> None:
    quantity_by_sku = {s.sku: s.quantity for s in page}
    settled: list[str] = []
    for result in results:
        if result.ok:
            counts.pushed += 1
            settled.append(result.key)
        elif result.error and any(m in result.error.lower() for m in UNKNOWN_SKU_MARKERS):
            # Not sold in this shop: remember the value so it is not sent again until it changes.
            counts.skipped += 1
            settled.append(result.key)
        else:
            counts.failed += 1
            logger.warning("stock for SKU {} not written to {}: {}", result.key, name, result.error)
    if settled:
        await ctx.pool.execute(
            "INSERT INTO shop_stock (merchant_id, channel, sku, quantity) SELECT $1, $2, u.sku, u.quantity"
            " FROM unnest($3::text[], $4::int[]) AS u(sku, quantity)"
            " ON CONFLICT (merchant_id, channel, sku) DO UPDATE SET quantity = excluded.quantity, pushed_at = now()",
            ctx.merchant_id,
            name,
            settled,
            [quantity_by_sku[sku] for sku in settled],
        )
