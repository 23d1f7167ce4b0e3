"""Each shop order's history in our records (``order_events``): what ``ffn-sync trace`` shows.

Only what the snapshot forgets is recorded here: every pull that changed the order, every gate decision,
and what was done in FFN (export, edit, cancel). Shipments and FFN statuses are snapshot rows of their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg

PULLED = "pulled"
GATE = "gate"
EXPORTED = "exported"
UPDATED = "updated"
CANCELLED = "cancelled"
MANUAL = "manual_action"

RETENTION = timedelta(days=90)

# An event equal to the order's previous one adds nothing: this keeps the table bounded by real changes.
_INSERT = """
INSERT INTO order_events (merchant_id, channel, order_id, at, kind, detail)
SELECT $1, $2, u.order_id, $3, u.kind, u.detail
FROM unnest($4::text[], $5::text[], $6::text[]) AS u(order_id, kind, detail)
WHERE (SELECT ROW(e.kind, e.detail) FROM order_events e
       WHERE e.merchant_id = $1 AND e.channel = $2 AND e.order_id = u.order_id
       ORDER BY e.seq DESC LIMIT 1) IS DISTINCT FROM ROW(u.kind, u.detail)
"""

Event = tuple[str, str, str]  # (order id, kind, detail)


async def record(
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


def describe_pull(payload: dict[str, Any]) -> str:
    """One line an operator reads: what the shop said about the order when we read it."""
    if "unreadable" in payload:
        return f"unreadable: {payload['unreadable']}"
    parts = [f"payment {payload.get('payment_state')}"]
    if payload.get("shop_status"):
        parts.append(f"status {payload['shop_status']}")
    if payload.get("cancelled"):
        parts.append("cancelled")
    if payload.get("test"):
        parts.append("test order")
    if payload.get("hold"):
        parts.append(f"held: {payload['hold']}")
    if payload.get("tags"):
        parts.append("tags " + ", ".join(payload["tags"]))
    parts.append("lines " + (describe_lines(payload.get("lines") or []) or "none"))
    return "; ".join(parts)


def describe_lines(lines: Sequence[dict[str, Any]]) -> str:
    shown = []
    for line in lines:
        mark = "" if line.get("requires_shipping", True) else " (not shipped)"
        shown.append(f"{line.get('sku') or line.get('name') or '?'}×{line.get('quantity')}{mark}")
    return ", ".join(shown)


async def prune(pool: asyncpg.Pool, merchant_id: str, now: datetime) -> int:
    result = await pool.execute(
        "DELETE FROM order_events WHERE merchant_id = $1 AND at < $2", merchant_id, now - RETENTION
    )
    return int(result.split()[-1])
