"""Stock tables: FFN's levels (``ffn_stock``), what each shop was told (``shop_stock``), and the stock
formula's reservations (see ``daemon.engine.reservations`` for the rule)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import asyncpg

from daemon.model import OutboundStatus, StockLevel
from daemon.store.snapshot import REASON_WAITING

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

_RESERVED_BY_ORDER = f"""
SELECT r.sku, sum(r.quantity) AS quantity FROM ({RESERVED_LINES}) AS r
WHERE r.channel = $2 AND r.order_id = $3 GROUP BY r.sku ORDER BY r.sku
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

# What the shop was told, or (failure set) that it does not keep this SKU's stock; either way the value
# is not sent again until the target changes.
_SETTLE = """
INSERT INTO shop_stock AS p (merchant_id, channel, sku, quantity, failure, reported_at)
SELECT $1, $2, u.sku, u.quantity, u.failure, u.reported_at
FROM unnest($3::text[], $4::int[], $5::text[], $6::timestamptz[]) AS u(sku, quantity, failure, reported_at)
ON CONFLICT (merchant_id, channel, sku) DO UPDATE SET quantity = excluded.quantity, pushed_at = now(),
    failure = excluded.failure, reported_at = coalesce(excluded.reported_at, p.reported_at)
"""


async def store_levels(
    conn: asyncpg.Connection, merchant_id: str, levels: Sequence[StockLevel], *, authoritative: bool
) -> int:
    """Record FFN levels (one per jfsku; newer versions win unless ``authoritative``); returns how many changed."""
    rows = await conn.fetch(
        _UPSERT_LEVELS,
        merchant_id,
        [v.jfsku for v in levels],
        [v.merchant_sku for v in levels],
        [v.available for v in levels],
        [v.reserved for v in levels],
        [v.blocked for v in levels],
        [v.version for v in levels],
        authoritative,
    )
    return len(rows)


async def changed_targets(
    pool: asyncpg.Pool, merchant_id: str, channel: str, buffer: int
) -> list[asyncpg.Record]:
    """(sku, quantity, failure, reported_at) of every SKU whose target differs from what ``channel`` was told."""
    return list(await pool.fetch(CHANGED_TARGETS, merchant_id, channel, buffer))


async def reserved_by_order(
    pool: asyncpg.Pool, merchant_id: str, channel: str, order_id: str
) -> dict[str, Decimal]:
    """SKU → units one order keeps out of the shops."""
    rows = await pool.fetch(_RESERVED_BY_ORDER, merchant_id, channel, order_id)
    return {row["sku"]: row["quantity"] for row in rows}


async def settle_written(
    pool: asyncpg.Pool,
    merchant_id: str,
    channel: str,
    settled: Sequence[tuple[str, int, str | None, datetime | None]],
) -> None:
    """Record (sku, quantity, failure, reported_at) as what ``channel`` holds now: not sent again until the
    target changes."""
    if settled:
        await pool.execute(
            _SETTLE,
            merchant_id,
            channel,
            [s[0] for s in settled],
            [s[1] for s in settled],
            [s[2] for s in settled],
            [s[3] for s in settled],
        )


async def forget_written(
    conn: asyncpg.Connection | asyncpg.Pool, merchant_id: str, channel: str, skus: Sequence[str]
) -> None:
    """The shop moved its own stock for these SKUs: what we last wrote there is no longer what it shows."""
    if skus:
        await conn.execute(
            "DELETE FROM shop_stock WHERE merchant_id = $1 AND channel = $2 AND sku = ANY($3::text[])",
            merchant_id,
            channel,
            list(skus),
        )
