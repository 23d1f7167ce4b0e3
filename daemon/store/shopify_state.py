"""``adapters.shopify.state.ShopifyState`` in Postgres (migration 0004), one row set per (merchant, channel)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

import asyncpg

_KEY = """
WITH new AS (
    INSERT INTO shopify_idempotency_keys (merchant_id, channel, body_hash, idempotency_key)
    VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING idempotency_key
)
SELECT idempotency_key FROM new
UNION ALL
SELECT idempotency_key FROM shopify_idempotency_keys WHERE merchant_id = $1 AND channel = $2 AND body_hash = $3
LIMIT 1
"""


class PgShopifyState:
    def __init__(self, pool: asyncpg.Pool, merchant_id: str, channel: str) -> None:
        self._pool = pool
        self.merchant_id = merchant_id
        self.channel = channel

    def __repr__(self) -> str:
        return f"PgShopifyState(merchant_id={self.merchant_id!r}, channel={self.channel!r})"

    async def observed(self, location_id: str, items: Sequence[str]) -> dict[str, int]:
        rows = await self._pool.fetch(
            "SELECT inventory_item_id, quantity FROM shopify_inventory_seen"
            " WHERE merchant_id = $1 AND channel = $2 AND location_id = $3 AND inventory_item_id = ANY($4::text[])",
            self.merchant_id,
            self.channel,
            location_id,
            list(items),
        )
        return {row["inventory_item_id"]: row["quantity"] for row in rows}

    async def observe(self, location_id: str, quantities: Mapping[str, int]) -> None:
        if not quantities:
            return
        await self._pool.execute(
            "INSERT INTO shopify_inventory_seen (merchant_id, channel, location_id, inventory_item_id, quantity)"
            " SELECT $1, $2, $3, u.item, u.quantity FROM unnest($4::text[], $5::int[]) AS u(item, quantity)"
            " ON CONFLICT (merchant_id, channel, location_id, inventory_item_id)"
            " DO UPDATE SET quantity = EXCLUDED.quantity, observed_at = now()",
            self.merchant_id,
            self.channel,
            location_id,
            list(quantities),
            list(quantities.values()),
        )

    async def idempotency_key(self, body_hash: str) -> str:
        key = await self._pool.fetchval(_KEY, self.merchant_id, self.channel, body_hash, str(uuid.uuid4()))
        return str(key)

    async def settle_key(self, body_hash: str) -> None:
        await self._pool.execute(
            "DELETE FROM shopify_idempotency_keys WHERE merchant_id = $1 AND channel = $2 AND body_hash = $3",
            self.merchant_id,
            self.channel,
            body_hash,
        )

    async def waiting_orders(self) -> dict[str, str]:
        rows = await self._pool.fetch(
            "SELECT order_id, reason FROM shopify_waiting_orders WHERE merchant_id = $1 AND channel = $2",
            self.merchant_id,
            self.channel,
        )
        return {row["order_id"]: row["reason"] for row in rows}

    async def set_waiting(self, order_id: str, reason: str | None) -> None:
        if reason is None:
            await self._pool.execute(
                "DELETE FROM shopify_waiting_orders WHERE merchant_id = $1 AND channel = $2 AND order_id = $3",
                self.merchant_id,
                self.channel,
                order_id,
            )
            return
        await self._pool.execute(
            "INSERT INTO shopify_waiting_orders (merchant_id, channel, order_id, reason) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (merchant_id, channel, order_id) DO UPDATE SET reason = EXCLUDED.reason",
            self.merchant_id,
            self.channel,
            order_id,
            reason,
        )
