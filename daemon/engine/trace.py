"""One shop order's story in our records, for ``ffn-sync trace``: "why has this order not gone out?"."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from daemon.engine.history import describe_pull
from daemon.engine.reservations import RESERVED_LINES
from daemon.engine.snapshot import ENTITY_FSTATUS, ENTITY_ORDER, ENTITY_SHIPMENT


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


_ORDERS = """
SELECT merchant_id, channel, external_id, label, payload, state, reason_code, last_error, remote_id,
       remote_status, next_attempt_at, attempts, created_at
FROM snapshot
WHERE entity = $1 AND (external_id = $2 OR label = $2 OR label = '#' || $2)
  AND ($3::text IS NULL OR merchant_id = $3)
ORDER BY merchant_id, channel, external_id
LIMIT 20
"""

_EVENTS = """
SELECT at, kind, detail FROM order_events
WHERE merchant_id = $1 AND channel = $2 AND order_id = $3 ORDER BY seq
"""

# Shipments and fulfiller status changes are snapshot rows of their own, tied to the order by its id.
_FFN_SIDE = """
SELECT entity, external_id, payload, state, last_error, coalesce(pushed_at, updated_at) AS at
FROM snapshot
WHERE merchant_id = $1 AND channel = $2 AND entity = ANY($3::text[]) AND payload->>'order_id' = $4
ORDER BY coalesce(pushed_at, updated_at)
"""

_RESERVES = f"SELECT r.sku, sum(r.quantity) AS quantity FROM ({RESERVED_LINES}) AS r WHERE r.channel = $2 AND r.order_id = $3 GROUP BY r.sku ORDER BY r.sku"


async def trace_order(
    pool: asyncpg.Pool, key: str, *, merchant: str | None = None, now: datetime
) -> list[OrderTrace]:
    """Every order matching ``key`` (shop order id or number, any channel), newest knowledge included."""
    rows = await pool.fetch(_ORDERS, ENTITY_ORDER, key, merchant)
    traces = []
    for row in rows:
        m, channel, order_id = row["merchant_id"], row["channel"], row["external_id"]
        events = [
            TraceEvent(e["at"], e["kind"], e["detail"])
            for e in await pool.fetch(_EVENTS, m, channel, order_id)
        ]
        for side in await pool.fetch(_FFN_SIDE, m, channel, [ENTITY_SHIPMENT, ENTITY_FSTATUS], order_id):
            events.append(_ffn_event(side))
        events.sort(key=lambda e: e.at)
        reserves = {r["sku"]: r["quantity"] for r in await pool.fetch(_RESERVES, m, channel, order_id)}
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
