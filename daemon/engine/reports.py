"""What operators ask the database: per-flow status, dead letters, retry and resync."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from daemon.engine.flows.registry import FFN_FLOWS, FLOW_OF_ENTITY
from daemon.store.progress import flow_health, rewind_cursors
from daemon.store.reports import backlog, dead_letter_rows, requeue_dead_letters


@dataclass(frozen=True, slots=True)
class FlowStatus:
    merchant: str
    channel: str
    flow: str
    last_success_at: datetime | None
    last_run_at: datetime | None
    cursor_lag_s: float | None
    pending: int
    failed: int
    consecutive_failures: int
    next_run_at: datetime | None
    last_error: str | None
    stalled: bool
    interval_s: float = 0.0


@dataclass(frozen=True, slots=True)
class DeadLetter:
    merchant: str
    channel: str
    entity: str
    external_id: str
    label: str | None
    reason_code: str | None
    last_error: str | None
    attempts: int
    updated_at: datetime


STALL_INTERVALS = 3


async def flow_statuses(pool: asyncpg.Pool, now: datetime, merchant: str | None = None) -> list[FlowStatus]:
    health = await flow_health(pool, merchant)
    counts: dict[tuple[str, str, str], list[int]] = {}
    for row in await backlog(pool, merchant):
        flow = FLOW_OF_ENTITY.get(row["entity"], row["entity"])
        channel = "ffn" if flow in FFN_FLOWS else row["channel"]
        slot = counts.setdefault((row["merchant_id"], channel, flow), [0, 0])
        slot[0] += row["pending"]
        slot[1] += row["failed"]
    result = []
    for h in health:
        pending, failed = counts.get((h["merchant_id"], h["channel"], h["flow"]), [0, 0])
        interval = timedelta(seconds=h["interval_s"])
        reference = h["last_success_at"]
        stalled = reference is None or now - reference > STALL_INTERVALS * interval
        if reference is None and h["last_run_at"] is not None:
            stalled = h["consecutive_failures"] >= STALL_INTERVALS
        result.append(
            FlowStatus(
                merchant=h["merchant_id"],
                channel=h["channel"],
                flow=h["flow"],
                last_success_at=h["last_success_at"],
                last_run_at=h["last_run_at"],
                cursor_lag_s=None if h["position"] is None else (now - h["position"]).total_seconds(),
                pending=pending,
                failed=failed,
                consecutive_failures=h["consecutive_failures"],
                next_run_at=None if h["last_run_at"] is None else h["last_run_at"] + interval,
                last_error=h["last_error"],
                stalled=stalled,
                interval_s=float(h["interval_s"]),
            )
        )
    return result


async def dead_letters(pool: asyncpg.Pool, merchant: str | None = None, limit: int = 500) -> list[DeadLetter]:
    return [DeadLetter(**dict(row)) for row in await dead_letter_rows(pool, merchant, limit)]


async def retry(pool: asyncpg.Pool, *, merchant: str | None, key: str | None, now: datetime) -> int:
    """Dead letters back to the queue: one (by shop id, SKU or order number) or all.

    ``reason_code`` stays on purpose: the flow then knows the row was parked and why (a
    ``manual_action`` order is re-evaluated against FFN's current state instead of repeating the PATCH)."""
    return await requeue_dead_letters(pool, merchant=merchant, key=key, now=now)


async def resync(
    pool: asyncpg.Pool, *, merchant: str | None, since: datetime, flow: str | None, channel: str | None
) -> int:
    """Move cursors back to ``since`` so the next cycles re-read from there (idempotently)."""
    return await rewind_cursors(pool, merchant=merchant, since=since, flow=flow, channel=channel)
