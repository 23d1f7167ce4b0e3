"""The merchant's SKU ⇄ jfsku map."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import asyncpg

from daemon.engine.context import MerchantContext


async def jfsku_map(ctx: MerchantContext, skus: Sequence[str]) -> dict[str, str]:
    if not skus:
        return {}
    rows = await ctx.pool.fetch(
        "SELECT sku, jfsku FROM sku_map WHERE merchant_id = $1 AND sku = ANY($2::text[])",
        ctx.merchant_id,
        list(skus),
    )
    return {row["sku"]: row["jfsku"] for row in rows}


class JfskuCache:
    """SKU → jfsku for one push pass: each SKU is looked up once, not once per order."""

    def __init__(self, ctx: MerchantContext) -> None:
        self._ctx = ctx
        self._known: dict[str, str] = {}
        self._missing: set[str] = set()

    async def lookup(self, skus: Sequence[str]) -> dict[str, str]:
        unknown = [s for s in skus if s not in self._known and s not in self._missing]
        if unknown:
            found = await jfsku_map(self._ctx, unknown)
            self._known.update(found)
            self._missing.update(s for s in unknown if s not in found)
        return {s: self._known[s] for s in skus if s in self._known}


async def sku_map_by_jfsku(ctx: MerchantContext, jfskus: Sequence[str]) -> dict[str, str]:
    if not jfskus:
        return {}
    rows = await ctx.pool.fetch(
        "SELECT sku, jfsku FROM sku_map WHERE merchant_id = $1 AND jfsku = ANY($2::text[])",
        ctx.merchant_id,
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
