"""The snapshot table as a durable work queue (one row per record, pending while pulled ≠ pushed).

Every query on ``snapshot`` lives here or, when it covers a whole page or claimed batch, in ``batches``:
the queue (upsert, claim, outcomes) in ``Snapshot``, and the order lookups other parts need (the shop
order behind an outbound, payloads, orders missing in FFN, the personal-data purge) as functions below it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from loguru import logger

from daemon.store.batches import (
    Done,
    Stored,
    current_batch,
    locate_orders,
    record_intents,
    set_remote_statuses,
    stored_rows,
)
from daemon.store.db import INSTANCE_ID

ENTITY_PRODUCT = "product"
ENTITY_ORDER = "order"
ENTITY_SHIPMENT = "shipment"
ENTITY_FSTATUS = "fstatus"

# A skipped order the gate told to wait (unpaid, held, not yet in an exporting status): not in FFN, yet its
# lines are reserved (see daemon.store.stock) and the purge treats it as open.
REASON_WAITING = "waiting"


@dataclass(frozen=True, slots=True)
class Pulled:
    external_id: str
    payload: dict[str, Any]
    hash: str
    label: str
    source_created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Claimed:
    channel: str
    entity: str
    external_id: str
    payload: dict[str, Any]
    pulled_hash: str
    pushed_hash: str | None
    remote_id: str | None
    remote_status: str | None
    remote_hash: str | None
    attempts: int
    label: str | None
    source_created_at: datetime | None
    reason_code: str | None = None  # why it last stopped (an operator's retry keeps it)


@dataclass(frozen=True, slots=True)
class OrderLocation:
    channel: str
    order_id: str
    number: str
    cancelled_in_shop: bool


_UPSERT = """
INSERT INTO snapshot AS s (merchant_id, channel, entity, external_id, payload, pulled_hash, label,
                           source_created_at, state, next_attempt_at)
SELECT $1, $2, $3, u.external_id, u.payload, u.hash, u.label, u.created, 'pending', $9
FROM unnest($4::text[], $5::jsonb[], $6::text[], $7::text[], $8::timestamptz[])
     AS u(external_id, payload, hash, label, created)
ON CONFLICT (merchant_id, channel, entity, external_id) DO UPDATE
SET payload = excluded.payload,
    pulled_hash = excluded.pulled_hash,
    label = excluded.label,
    state = CASE WHEN excluded.pulled_hash IS DISTINCT FROM s.pushed_hash THEN 'pending' ELSE s.state END,
    next_attempt_at = $9,
    attempts = 0,
    reason_code = NULL,
    last_error = NULL,
    -- a new pull brings personal data back: the purge must see it again (closed_at is kept)
    personal_data_purged_at = NULL,
    updated_at = now()
WHERE s.pulled_hash IS DISTINCT FROM excluded.pulled_hash
RETURNING external_id
"""


# A claim marks rows in flight (claimed_by/claimed_until) and takes at most one row per claim_key
# (one shop order: the order, its shipments and statuses) while no other row of that key is in flight.
# Claims are serialised per merchant by a transaction-scoped advisory lock, held for this one
# statement and never across a vendor call; the two-int key space cannot meet the lease's bigint keys.
_CLAIM_LOCK = "SELECT pg_advisory_xact_lock($1::int, hashtext($2))"
# Every row ``_CLAIM`` could take is one of these (it only narrows them down).
_ANY_DUE = """
SELECT EXISTS (SELECT 1 FROM snapshot WHERE merchant_id = $1 AND channel = ANY($2::text[]) AND entity = $3
               AND state = 'pending' AND next_attempt_at <= $4)
"""
CLAIM_LOCK_CLASS = 0x6666  # "ff"
_CLAIM = """
WITH due AS (
    SELECT DISTINCT ON (s.channel, s.claim_key) s.channel, s.entity, s.external_id, s.next_attempt_at
    FROM snapshot s
    WHERE s.merchant_id = $1 AND s.channel = ANY($2::text[]) AND s.entity = $3 AND s.state = 'pending'
      AND s.next_attempt_at <= $4
      AND NOT EXISTS (
          SELECT 1 FROM snapshot busy
          WHERE busy.merchant_id = s.merchant_id AND busy.channel = s.channel
            AND busy.claim_key = s.claim_key AND busy.claimed_until > $4
      )
    ORDER BY s.channel, s.claim_key, s.next_attempt_at, s.external_id
), picked AS (
    SELECT * FROM due ORDER BY next_attempt_at, external_id LIMIT $6
)
UPDATE snapshot AS s SET claimed_by = $7, claimed_until = $5, attempts = s.attempts + 1
FROM picked AS c
WHERE s.merchant_id = $1 AND s.channel = c.channel AND s.entity = c.entity AND s.external_id = c.external_id
RETURNING s.channel, s.entity, s.external_id, s.payload, s.pulled_hash, s.pushed_hash, s.remote_id,
          s.remote_status, s.remote_hash, s.attempts, s.label, s.source_created_at, s.reason_code
"""
_KEYS = "unnest($3::text[], $4::text[], $5::text[]) AS k(channel, entity, external_id)"
# Released without an outcome (shutdown, a fatal channel error): the attempt does not count.
_RELEASE = f"""
UPDATE snapshot AS s SET claimed_by = NULL, claimed_until = NULL, attempts = greatest(s.attempts - 1, 0)
FROM {_KEYS}
WHERE s.merchant_id = $1 AND s.claimed_by = $2
  AND s.channel = k.channel AND s.entity = k.entity AND s.external_id = k.external_id
"""
_EXTEND = f"""
UPDATE snapshot AS s SET claimed_until = $6
FROM {_KEYS}
WHERE s.merchant_id = $1 AND s.claimed_by = $2
  AND s.channel = k.channel AND s.entity = k.entity AND s.external_id = k.external_id
"""


class Snapshot:
    def __init__(self, pool: asyncpg.Pool, merchant_id: str) -> None:
        self.pool = pool
        self.merchant_id = merchant_id

    async def stored(
        self, conn: asyncpg.Connection, channel: str, entity: str, rows: Sequence[Pulled], *, payloads: bool
    ) -> Stored:
        return await stored_rows(conn, self.merchant_id, channel, entity, rows, payloads=payloads)

    async def upsert(
        self,
        conn: asyncpg.Connection,
        channel: str,
        entity: str,
        rows: Sequence[Pulled],
        *,
        now: datetime,
        stored: Stored | None = None,
    ) -> list[str]:
        """Store pulled records; returns the external ids that were new or changed (zero writes otherwise)."""
        latest = {row.external_id: row for row in rows}  # a page may repeat a record; keep the last
        if not latest:
            return []
        if stored is None:
            stored = await self.stored(conn, channel, entity, list(latest.values()), payloads=False)
        latest = {k: row for k, row in latest.items() if k not in stored.unchanged}
        if not latest:
            return []
        changed = await conn.fetch(
            _UPSERT,
            self.merchant_id,
            channel,
            entity,
            list(latest),
            [r.payload for r in latest.values()],
            [r.hash for r in latest.values()],
            [r.label for r in latest.values()],
            [r.source_created_at for r in latest.values()],
            now,
        )
        return [row["external_id"] for row in changed]

    async def claim(
        self, channels: Sequence[str], entity: str, *, now: datetime, limit: int, lease_s: float = 60.0
    ) -> list[Claimed]:
        """Due rows, at most one per order and none of an order already in flight (see ``_CLAIM``)."""
        async with self.pool.acquire() as conn:
            # Most cycles of a fleet find nothing due: one read instead of a transaction with a lock.
            if not await conn.fetchval(_ANY_DUE, self.merchant_id, list(channels), entity, now):
                return []
            async with conn.transaction():
                await conn.execute(_CLAIM_LOCK, CLAIM_LOCK_CLASS, self.merchant_id)
                rows = await conn.fetch(
                    _CLAIM,
                    self.merchant_id,
                    list(channels),
                    entity,
                    now,
                    now + timedelta(seconds=lease_s),
                    limit,
                    INSTANCE_ID,
                )
        return [Claimed(**dict(row)) for row in rows]

    async def release(self, items: Sequence[Claimed]) -> None:
        """Give claims back without an outcome: the rows are due again at once for the next claimer."""
        if items:
            await self.pool.execute(_RELEASE, self.merchant_id, INSTANCE_ID, *_keys(items))

    async def extend(self, items: Sequence[Claimed], until: datetime) -> None:
        """Keep claims alive while their work runs, so a short lease never frees a row in flight."""
        if items:
            await self.pool.execute(_EXTEND, self.merchant_id, INSTANCE_ID, *_keys(items), until)

    async def _set(self, item: Claimed, sql_set: str, *args: Any) -> None:
        # Every outcome ends the claim, but only our own: once another instance has taken the row over
        # (our claim ran out while we were cut off), a late outcome must neither overwrite its work nor
        # free its claim, or a second row of the order could go in flight.
        result = await self.pool.execute(
            f"UPDATE snapshot SET {sql_set}, claimed_by = NULL, claimed_until = NULL, updated_at = now() "
            "WHERE merchant_id = $1 AND channel = $2 AND entity = $3 AND external_id = $4"
            f" AND claimed_by = ${len(args) + 5}",
            self.merchant_id,
            item.channel,
            item.entity,
            item.external_id,
            *args,
            INSTANCE_ID,
        )
        if result.split()[-1] == "0":
            logger.warning(
                "{} {} of {}: outcome dropped, another instance has taken the record over",
                item.entity,
                item.label or item.external_id,
                item.channel,
            )

    async def done(
        self,
        item: Claimed,
        *,
        now: datetime,
        remote_id: str | None = None,
        remote_status: str | None = None,
        remote_hash: str | None = None,
    ) -> None:
        batch = current_batch(self.merchant_id)
        if batch is not None:  # written behind, with the rest of its claimed batch (daemon.store.outcomes)
            await batch.add(Done(item, now, remote_id, remote_status, remote_hash))
            return
        # pushed_hash is what was claimed: an edit that arrived meanwhile keeps the row pending.
        await self._set(
            item,
            "pushed_hash = $5, remote_id = coalesce($6, remote_id), remote_status = coalesce($7, remote_status),"
            " remote_hash = coalesce($8, remote_hash), pushed_at = $9, attempts = 0, reason_code = NULL,"
            " last_error = NULL, state = CASE WHEN pulled_hash = $5 THEN 'synced' ELSE 'pending' END",
            item.pulled_hash,
            remote_id,
            remote_status,
            remote_hash,
            now,
        )

    async def record_intent(self, item: Claimed, remote_id: str, remote_hash: str) -> None:
        """Written before a create: after a crash the row says a create may have happened, and with
        what, so whoever adopts the outbound (the status flow, a repeated create) knows what FFN holds.
        The claim stays: the create follows."""
        await self.pool.execute(
            "UPDATE snapshot SET remote_id = $5, remote_hash = $6, updated_at = now()"
            " WHERE merchant_id = $1 AND channel = $2 AND entity = $3 AND external_id = $4",
            self.merchant_id,
            item.channel,
            item.entity,
            item.external_id,
            remote_id,
            remote_hash,
        )

    async def record_intents(self, intents: Sequence[tuple[Claimed, str, str]]) -> None:
        """``record_intent`` for many rows in one statement: (row, outbound id, outbound hash) each."""
        await record_intents(self.pool, self.merchant_id, intents)

    async def skip(self, item: Claimed, reason: str, *, reason_code: str = "skipped") -> None:
        """Settled until the source changes; ``reason_code`` tells the stock formula why (see stock.py)."""
        await self._set(
            item,
            "pushed_hash = $5, attempts = 0, reason_code = $7, last_error = $6,"
            " state = CASE WHEN pulled_hash = $5 THEN 'skipped' ELSE 'pending' END",
            item.pulled_hash,
            reason,
            reason_code,
        )

    async def wait_until(self, item: Claimed, until: datetime, reason: str) -> None:
        await self._set(item, "next_attempt_at = $5, attempts = 0, last_error = $6", until, reason)

    async def retry_later(self, item: Claimed, until: datetime, error: str) -> None:
        await self._set(item, "next_attempt_at = $5, last_error = $6", until, error)

    async def postpone(self, item: Claimed, until: datetime, error: str) -> None:
        """Due again at ``until`` without counting this attempt: the record was not tried (its shop is paused)."""
        await self._set(
            item, "next_attempt_at = $5, last_error = $6, attempts = greatest(attempts - 1, 0)", until, error
        )

    async def park(self, item: Claimed, reason_code: str, message: str) -> None:
        """A dead letter: stays until the source changes or an operator retries it."""
        await self._set(
            item,
            "state = CASE WHEN pulled_hash = $5 THEN 'failed' ELSE 'pending' END, reason_code = $6, last_error = $7",
            item.pulled_hash,
            reason_code,
            message,
        )

    async def due_now(self, *, now: datetime) -> int:
        """Every pending row waiting for a later attempt is due at ``now``: something was fixed (a reload, a
        new FFN consent), so what backed off or was postponed behind a paused shop tries again at once
        instead of waiting out up to 15 minutes. Claims are separate columns, so nothing in flight is freed.
        The woken try is free (one attempt given back): an operator reloading while troubleshooting must
        not push records that still fail into dead letters faster than their backoff would."""
        result = await self.pool.execute(
            "UPDATE snapshot SET next_attempt_at = $2, attempts = greatest(attempts - 1, 0)"
            " WHERE merchant_id = $1 AND state = 'pending' AND next_attempt_at > $2",
            self.merchant_id,
            now,
        )
        return int(result.split()[-1])

    async def requeue(self, *, now: datetime, reason_code: str) -> int:
        """Dead letters of one reason back to pending (e.g. orders that waited for a new SKU)."""
        result = await self.pool.execute(
            "UPDATE snapshot SET state = 'pending', next_attempt_at = $3, attempts = 0, updated_at = now()"
            " WHERE merchant_id = $1 AND state = 'failed' AND reason_code = $2",
            self.merchant_id,
            reason_code,
            now,
        )
        return int(result.split()[-1])

    async def locate_orders(self, outbound_ids: Sequence[str]) -> dict[str, OrderLocation]:
        """The shop order behind each of our outbounds among ``outbound_ids``; outbounds ffn-sync did not
        create are left out."""
        found = await locate_orders(self.pool, self.merchant_id, outbound_ids)
        return {outbound: OrderLocation(*where) for outbound, where in found.items()}

    async def set_remote_statuses(self, entity: str, statuses: Sequence[tuple[str, str]]) -> int:
        """Returns how many rows changed their status."""
        return await set_remote_statuses(self.pool, self.merchant_id, entity, statuses)


def _keys(items: Sequence[Claimed]) -> tuple[list[str], list[str], list[str]]:
    return [i.channel for i in items], [i.entity for i in items], [i.external_id for i in items]


async def order_payloads(
    conn: asyncpg.Connection | asyncpg.Pool, merchant_id: str, channel: str, order_ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """The stored payload of each known order among ``order_ids``."""
    rows = await conn.fetch(
        "SELECT external_id, payload FROM snapshot WHERE merchant_id = $1 AND channel = $2 AND entity = $3"
        " AND external_id = ANY($4::text[])",
        merchant_id,
        channel,
        ENTITY_ORDER,
        list(order_ids),
    )
    return {row["external_id"]: row["payload"] for row in rows}


_NOT_IN_FFN = """
SELECT channel, label FROM snapshot
WHERE merchant_id = $1 AND entity = 'order' AND remote_status IS NULL AND state IN ('pending', 'failed')
  AND source_created_at < $2 AND NOT (payload->>'cancelled')::boolean
ORDER BY source_created_at LIMIT $3
"""


async def orders_not_in_ffn(
    pool: asyncpg.Pool, merchant_id: str, created_before: datetime, limit: int = 50
) -> list[tuple[str, str]]:
    """(channel, label) of open orders created before ``created_before`` that FFN does not know yet."""
    rows = await pool.fetch(_NOT_IN_FFN, merchant_id, created_before, limit)
    return [(row["channel"], row["label"]) for row in rows]


async def parked_since(pool: asyncpg.Pool, merchant_ids: Sequence[str], since: datetime) -> int:
    """Records of these merchants that became dead letters since ``since``."""
    count: int = await pool.fetchval(
        "SELECT count(*) FROM snapshot WHERE state = 'failed' AND updated_at >= $1 AND merchant_id = ANY($2)",
        since,
        list(merchant_ids),
    )
    return count
