"""Each shop order's history in our records (``order_events``): what ``ffn-sync trace`` shows.

Only what the snapshot forgets is recorded here: every pull that changed the order, every gate decision,
and what was done in FFN (export, edit, cancel). Shipments and FFN statuses are snapshot rows of their own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from loguru import logger

from daemon.store.history import DatedEvent, insert_dated_events, insert_events, prune_events

PULLED = "pulled"
GATE = "gate"
EXPORTED = "exported"
UPDATED = "updated"
CANCELLED = "cancelled"
MANUAL = "manual_action"
PARKED = "parked"

RETENTION = timedelta(days=90)

# Events of one push pass, written together at its end (one statement instead of one per order).
_PENDING: ContextVar[list[DatedEvent] | None] = ContextVar("order_events", default=None)


@asynccontextmanager
async def batched(pool: asyncpg.Pool, merchant_id: str) -> AsyncIterator[None]:
    """Collect the events noted inside (tasks started inside share the batch) and write them at the end."""
    pending: list[DatedEvent] = []
    token = _PENDING.set(pending)
    try:
        yield
    finally:
        _PENDING.reset(token)
        if pending:
            try:
                await insert_dated_events(pool, merchant_id, pending)
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
                # History is for the operator's eyes; losing it must not undo or fail the work it describes.
                logger.warning("history of {} orders not recorded: {}", len(pending), exc)


async def note(
    pool: asyncpg.Pool, merchant_id: str, channel: str, order_id: str, kind: str, detail: str, *, at: datetime
) -> None:
    """One event: into the current batch when there is one, else written now."""
    pending = _PENDING.get()
    if pending is not None:
        pending.append((channel, order_id, at, kind, detail))
    else:
        await insert_events(pool, merchant_id, channel, [(order_id, kind, detail)], at=at)


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
    return await prune_events(pool, merchant_id, now - RETENTION)
