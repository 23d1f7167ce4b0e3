"""The ``order_events`` table: each shop order's history (see ``daemon.engine.history``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import asyncpg

Event = tuple[str, str, str]  # (order id, kind, detail)
DatedEvent = tuple[str, str, datetime, str, str]  # (channel, order id, at, kind, detail)

# An event equal to the order's previous one adds nothing: this keeps the table bounded by real changes.
_INSERT = """
INSERT INTO order_events (merchant_id, channel, order_id, at, kind, detail)
SELECT $1, $2, u.order_id, $3, u.kind, u.detail
FROM unnest($4::text[], $5::text[], $6::text[]) AS u(order_id, kind, detail)
WHERE (SELECT ROW(e.kind, e.detail) FROM order_events e
       WHERE e.merchant_id = $1 AND e.channel = $2 AND e.order_id = u.order_id
       ORDER BY e.seq DESC LIMIT 1) IS DISTINCT FROM ROW(u.kind, u.detail)
"""

_INSERT_MANY = """
INSERT INTO order_events (merchant_id, channel, order_id, at, kind, detail)
SELECT $1, u.channel, u.order_id, u.at, u.kind, u.detail
FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::text[])
     AS u(channel, order_id, at, kind, detail)
WHERE (SELECT ROW(e.kind, e.detail) FROM order_events e
       WHERE e.merchant_id = $1 AND e.channel = u.channel AND e.order_id = u.order_id
       ORDER BY e.seq DESC LIMIT 1) IS DISTINCT FROM ROW(u.kind, u.detail)
"""


async def insert_events(
    conn: asyncpg.Connection | asyncpg.Pool,
    merchant_id: str,
    channel: str,
    events: Iterable[Event],
    *,
    at: datetime,
) -> None:
    rows = list(events)
    if not rows:
        return
    await conn.execute(
        _INSERT,
        merchant_id,
        channel,
        at,
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
    )


async def insert_dated_events(pool: asyncpg.Pool, merchant_id: str, events: Sequence[DatedEvent]) -> None:
    if events:
        await pool.execute(_INSERT_MANY, merchant_id, *(list(column) for column in zip(*events, strict=True)))


async def prune_events(pool: asyncpg.Pool, merchant_id: str, before: datetime) -> int:
    result = await pool.execute(
        "DELETE FROM order_events WHERE merchant_id = $1 AND at < $2", merchant_id, before
    )
    return int(result.split()[-1])


async def events_of_order(
    pool: asyncpg.Pool, merchant_id: str, channel: str, order_id: str
) -> list[tuple[datetime, str, str]]:
    rows = await pool.fetch(
        "SELECT at, kind, detail FROM order_events WHERE merchant_id = $1 AND channel = $2 AND order_id = $3"
        " ORDER BY seq",
        merchant_id,
        channel,
        order_id,
    )
    return [(row["at"], row["kind"], row["detail"]) for row in rows]
