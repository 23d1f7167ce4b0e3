"""The merchant's SKU ⇄ jfsku map (``sku_map``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import asyncpg


async def jfskus_of(pool: asyncpg.Pool, merchant_id: str, skus: Sequence[str]) -> dict[str, str]:
    """SKU → jfsku for the known ones among ``skus``."""
    if not skus:
        return {}
    rows = await pool.fetch(
        "SELECT sku, jfsku FROM sku_map WHERE merchant_id = $1 AND sku = ANY($2::text[])",
        merchant_id,
        list(skus),
    )
    return {row["sku"]: row["jfsku"] for row in rows}


async def skus_of(pool: asyncpg.Pool, merchant_id: str, jfskus: Sequence[str]) -> dict[str, str]:
    """jfsku → SKU for the known ones among ``jfskus``."""
    if not jfskus:
        return {}
    rows = await pool.fetch(
        "SELECT sku, jfsku FROM sku_map WHERE merchant_id = $1 AND jfsku = ANY($2::text[])",
        merchant_id,
        list(jfskus),
    )
    return {row["jfsku"]: row["sku"] for row in rows}


async def remember(
    conn: asyncpg.Connection | asyncpg.Pool, merchant_id: str, pairs: Iterable[tuple[str, str]]
) -> int:
    """Store (sku, jfsku) pairs; returns how many were new or changed."""
    pairs = list(dict(pairs).items())
    if not pairs:
        return 0
    rows = await conn.fetch(
        "INSERT INTO sku_map AS m (merchant_id, sku, jfsku) SELECT $1, u.sku, u.jfsku"
        " FROM unnest($2::text[], $3::text[]) AS u(sku, jfsku)"
        " ON CONFLICT (merchant_id, sku) DO UPDATE SET jfsku = excluded.jfsku, updated_at = now()"
        " WHERE m.jfsku <> excluded.jfsku RETURNING sku",
        merchant_id,
        [sku for sku, _ in pairs],
        [jfsku for _, jfsku in pairs],
    )
    return len(rows)
