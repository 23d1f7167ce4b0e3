"""What operators ask the database (``status``, ``failed``, ``retry``, ``trace``): the queries behind
``daemon.engine.reports`` and ``daemon.engine.trace``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

_BACKLOG = """
SELECT merchant_id, channel, entity, count(*) FILTER (WHERE state = 'pending') AS pending,
       count(*) FILTER (WHERE state = 'failed') AS failed
FROM snapshot
WHERE ($1::text IS NULL OR merchant_id = $1) AND state IN ('pending', 'failed')
GROUP BY 1, 2, 3
"""


async def backlog(pool: asyncpg.Pool, merchant: str | None = None) -> list[asyncpg.Record]:
    """(merchant_id, channel, entity, pending, failed) of every queue with work or dead letters."""
    return list(await pool.fetch(_BACKLOG, merchant))


async def dead_letter_rows(pool: asyncpg.Pool, merchant: str | None, limit: int) -> list[asyncpg.Record]:
    return list(
        await pool.fetch(
            "SELECT merchant_id AS merchant, channel, entity, external_id, label, reason_code, last_error,"
            " attempts, updated_at FROM snapshot WHERE state = 'failed' AND ($1::text IS NULL OR merchant_id = $1)"
            " ORDER BY updated_at DESC LIMIT $2",
            merchant,
            limit,
        )
    )


async def requeue_dead_letters(
    pool: asyncpg.Pool, *, merchant: str | None, key: str | None, now: datetime
) -> int:
    """Dead letters back to the queue (one by shop id, SKU or order number, or all); the reason code stays."""
    result = await pool.execute(
        "UPDATE snapshot SET state = 'pending', next_attempt_at = $3, attempts = 0, updated_at = now()"
        " WHERE state = 'failed' AND ($1::text IS NULL OR merchant_id = $1)"
        " AND ($2::text IS NULL OR external_id = $2 OR label = $2)",
        merchant,
        key,
        now,
    )
    return int(result.split()[-1])


_ORDERS = """
SELECT merchant_id, channel, external_id, label, payload, state, reason_code, last_error, remote_id,
       remote_status, next_attempt_at, attempts, created_at
FROM snapshot
WHERE entity = 'order' AND (external_id = $1 OR label = $1 OR label = '#' || $1)
  AND ($2::text IS NULL OR merchant_id = $2)
ORDER BY merchant_id, channel, external_id
LIMIT 20
"""


async def orders_matching(pool: asyncpg.Pool, key: str, merchant: str | None) -> list[asyncpg.Record]:
    """Orders whose shop id or number is ``key`` (with or without a leading '#'), any channel."""
    return list(await pool.fetch(_ORDERS, key, merchant))


# Shipments and fulfiller status changes are snapshot rows of their own, tied to the order by its id.
_FFN_SIDE = """
SELECT entity, external_id, payload, state, last_error, coalesce(pushed_at, updated_at) AS at
FROM snapshot
WHERE merchant_id = $1 AND channel = $2 AND entity = ANY($3::text[]) AND payload->>'order_id' = $4
ORDER BY coalesce(pushed_at, updated_at)
"""


async def rows_for_order(
    pool: asyncpg.Pool, merchant_id: str, channel: str, entities: Sequence[str], order_id: str
) -> list[asyncpg.Record]:
    """Rows of ``entities`` (shipments, FFN statuses) that belong to one shop order, oldest first."""
    return list(await pool.fetch(_FFN_SIDE, merchant_id, channel, list(entities), order_id))
