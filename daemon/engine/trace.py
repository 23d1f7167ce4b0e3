"""One shop order's story in our records, for ``ffn-sync trace``: "why has this order not gone out?"."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from daemon.engine.history import describe_pull
from daemon.store.history import events_of_order
from daemon.store.reports import orders_matching, rows_for_order
from daemon.store.snapshot import ENTITY_FSTATUS, ENTITY_SHIPMENT
from daemon.store.stock import reserved_by_order


@dataclass(frozen=True, slots=True)
class TraceEvent:
    at: datetime
    kind: str
    detail: str


@dataclass(frozen=True, slots=True)
class OrderTrace:
    merchant: str
    channel: str
    order_id: str
    number: str
    verdict: str  # one line: where the order stands and why
    state: str
    reason_code: str | None
    last_error: str | None
    outbound_id: str | None
    ffn_status: str | None
    next_attempt_at: datetime | None
    shop_says: str  # the order as last read from the shop
    reserves: dict[str, Decimal] = field(default_factory=dict)  # SKU → units kept out of the shops
    events: list[TraceEvent] = field(default_factory=list)  # ours, FFN statuses and shipments, by time


async def trace_order(
    pool: asyncpg.Pool, key: str, *, merchant: str | None = None, now: datetime
) -> list[OrderTrace]:
    """Every order matching ``key`` (shop order id or number, any channel), newest knowledge included."""
    traces = []
    for row in await orders_matching(pool, key, merchant):
        m, channel, order_id = row["merchant_id"], row["channel"], row["external_id"]
        events = [TraceEvent(*event) for event in await events_of_order(pool, m, channel, order_id)]
        for side in await rows_for_order(pool, m, channel, [ENTITY_SHIPMENT, ENTITY_FSTATUS], order_id):
            events.append(_ffn_event(side))
        events.sort(key=lambda e: e.at)
        reserves = await reserved_by_order(pool, m, channel, order_id)
        traces.append(
            OrderTrace(
                merchant=m,
                channel=channel,
                order_id=order_id,
                number=row["label"] or order_id,
                verdict=verdict(row, now),
                state=row["state"],
                reason_code=row["reason_code"],
                last_error=row["last_error"],
                outbound_id=row["remote_id"],
                ffn_status=row["remote_status"],
                next_attempt_at=row["next_attempt_at"] if row["state"] == "pending" else None,
                shop_says=describe_pull(row["payload"]),
                reserves=reserves,
                events=events,
            )
        )
    return traces


def verdict(row: Any, now: datetime) -> str:
    """Where the order stands, in the words an operator needs."""
    state, code, error = row["state"], row["reason_code"], row["last_error"]
    if row["remote_status"]:
        return f"in FFN as outbound {row['remote_id']}, status {row['remote_status']}"
    if state == "failed":
        return f"parked ({code}): {error}; fix the cause, then `ffn-sync retry {row['label'] or row['external_id']}`"
    if state == "skipped" and code == "waiting":
        return f"waiting: {error}; it is read again when it changes in the shop"
    if state == "skipped":
        return f"not for the warehouse: {error}"
    if state == "synced":
        return "settled without an outbound" + (f": {error}" if error else "")
    if row["next_attempt_at"] > now:
        when = f"{row['next_attempt_at']:%Y-%m-%d %H:%M:%S}"
        if row["attempts"] and error:
            return f"retrying at {when} (attempt {row['attempts']}): {error}"
        return f"waiting until {when}" + (f": {error}" if error else "")
    return "queued: the next orders cycle sends it"


def _ffn_event(row: Any) -> TraceEvent:
    applied = {"synced": "applied", "failed": "parked", "pending": "pending", "skipped": "skipped"}[
        row["state"]
    ]
    suffix = f" ({row['last_error']})" if row["state"] == "failed" and row["last_error"] else ""
    if row["entity"] == ENTITY_SHIPMENT:
        shipment = row["payload"].get("shipment") or {}
        tracking = ", ".join(t.get("number") or "-" for t in shipment.get("trackings") or []) or "no tracking"
        units = sum(Decimal(str(line.get("quantity") or 0)) for line in shipment.get("lines") or [])
        detail = f"shipment {row['external_id']}: {units:g} units, {tracking}; {applied} in the shop{suffix}"
        return TraceEvent(row["at"], "shipment", detail)
    status = (row["payload"].get("status") or {}).get("status")
    return TraceEvent(row["at"], "ffn_status", f"FFN status {status}; {applied} in the shop{suffix}")


def render(trace: OrderTrace) -> str:
    lines = [
        f"order {trace.number} (shop id {trace.order_id}) · {trace.merchant}/{trace.channel}",
        f"  now:      {trace.verdict}",
        f"  shop:     {trace.shop_says}",
        "  reserves: "
        + (", ".join(f"{sku}×{qty:g}" for sku, qty in trace.reserves.items()) or "nothing")
        + (" (kept out of every shop until it is in FFN)" if trace.reserves else ""),
        "  history:",
    ]
    for event in trace.events:
        lines.append(f"    {event.at:%Y-%m-%d %H:%M:%S}  {event.kind:<12} {event.detail}")
    if not trace.events:
        lines.append("    (nothing recorded)")
    return "\n".join(lines)
