"""Snapshot statements for a whole page or claimed batch at once.

Pulled pages are compared by hash before they are written (``stored_rows``): most re-read records are
unchanged (overlaps, reconcile, a resync), so their JSON never travels to Postgres.

Claimed batches: a record sent to FFN or a shop used to cost two statements of its own (the intent before
the create, the outcome after it), each a round trip and a commit. Both are batched without weakening
exactly-once:

- intents are written a chunk of creates at a time (daemon.engine.flows.order_batch), each before the
  first of its creates leaves, so "a create may have happened" is durable before any request does (a
  crash after it only means a repeated, idempotent create);
- ``done`` outcomes are written behind: kept until ``FLUSH_AT`` of them wait, the claim keeper's next
  tick or the end of the batch. Until then the rows stay claimed (``claimed_by`` is only cleared by the
  outcome), so nobody else takes them; an outcome lost with its process is a row that runs again after its
  claim lapses, and every write it repeats is idempotent (deterministic outbound ids, FFN's
  "already exists", the shops' write-back markers).

An outcome written directly for a row meanwhile (a park after a failure) ends the claim first, and a
buffered ``done`` for that row then matches nothing: it never overwrites a later outcome.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import asyncpg
from loguru import logger

from daemon.store.db import INSTANCE_ID

if TYPE_CHECKING:
    from daemon.store.snapshot import Claimed, Pulled

FLUSH_AT = 64

_MATCH = (
    "s.merchant_id = $1 AND s.channel = u.channel AND s.entity = u.entity AND s.external_id = u.external_id"
)

_INTENTS = f"""
UPDATE snapshot AS s SET remote_id = u.remote_id, remote_hash = u.remote_hash, updated_at = now()
FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
     AS u(channel, entity, external_id, remote_id, remote_hash)
WHERE {_MATCH} AND s.claimed_by = $7
"""

# The batched form of ``Snapshot.done``: pushed_hash is what was claimed, so an edit that arrived meanwhile
# keeps its row pending; only our own claims are ended.
_DONE = f"""
UPDATE snapshot AS s
SET pushed_hash = u.hash, remote_id = coalesce(u.remote_id, s.remote_id),
    remote_status = coalesce(u.remote_status, s.remote_status),
    remote_hash = coalesce(u.remote_hash, s.remote_hash), pushed_at = u.at, attempts = 0, reason_code = NULL,
    last_error = NULL, state = CASE WHEN s.pulled_hash = u.hash THEN 'synced' ELSE 'pending' END,
    claimed_by = NULL, claimed_until = NULL, updated_at = now()
FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
            $10::timestamptz[]) AS u(channel, entity, external_id, hash, remote_id, remote_status, remote_hash, at)
WHERE {_MATCH} AND s.claimed_by = $2
RETURNING s.channel, s.entity, s.external_id
"""


_STORED = """
SELECT s.external_id, s.pulled_hash = u.hash AS same,
       CASE WHEN $6 AND s.pulled_hash IS DISTINCT FROM u.hash THEN s.payload END AS payload
FROM snapshot s JOIN unnest($4::text[], $5::text[]) AS u(external_id, hash) ON s.external_id = u.external_id
WHERE s.merchant_id = $1 AND s.channel = $2 AND s.entity = $3
"""


@dataclass(frozen=True, slots=True)
class Stored:
    unchanged: set[str]  # external ids stored with the same hash: nothing to write
    payloads: dict[str, dict[str, Any]]  # external id → stored payload of a changed row (when asked for)


async def stored_rows(
    conn: asyncpg.Connection,
    merchant_id: str,
    channel: str,
    entity: str,
    rows: Sequence[Pulled],
    *,
    payloads: bool,
) -> Stored:
    """What the snapshot holds of a page: which rows are unchanged, and the stored payloads of the others."""
    latest = {row.external_id: row.hash for row in rows}  # a page may repeat a record; the last counts
    found = await conn.fetch(
        _STORED, merchant_id, channel, entity, list(latest), list(latest.values()), payloads
    )
    unchanged = {r["external_id"] for r in found if r["same"]}
    return Stored(unchanged, {r["external_id"]: r["payload"] for r in found if r["payload"] is not None})


# The shop order behind each of our outbounds among a page of FFN records.
_LOCATE = """
SELECT DISTINCT ON (remote_id) remote_id, channel, external_id, label,
       coalesce((payload->>'cancelled')::boolean, false) AS cancelled
FROM snapshot WHERE merchant_id = $1 AND entity = 'order' AND remote_id = ANY($2::text[])
ORDER BY remote_id, channel, external_id
"""

_REMOTE_STATUSES = """
UPDATE snapshot AS s SET remote_status = u.status
FROM unnest($3::text[], $4::text[]) AS u(remote_id, status)
WHERE s.merchant_id = $1 AND s.entity = $2 AND s.remote_id = u.remote_id AND s.remote_status IS DISTINCT FROM u.status
"""


async def locate_orders(
    pool: asyncpg.Pool, merchant_id: str, outbound_ids: Sequence[str]
) -> dict[str, tuple[str, str, str, bool]]:
    """outbound id → (channel, order id, label, cancelled in the shop), for the outbounds ffn-sync created."""
    if not outbound_ids:
        return {}
    rows = await pool.fetch(_LOCATE, merchant_id, list(outbound_ids))
    return {
        r["remote_id"]: (r["channel"], r["external_id"], r["label"] or r["external_id"], r["cancelled"])
        for r in rows
    }


async def set_remote_statuses(
    pool: asyncpg.Pool, merchant_id: str, entity: str, statuses: Sequence[tuple[str, str]]
) -> int:
    """(remote id, status) pairs in one statement; of repeated ids the last pair counts (the feed's order),
    where one UPDATE matching a row twice would apply either. Returns how many rows changed."""
    latest = dict(statuses)
    if not latest:
        return 0
    result = await pool.execute(_REMOTE_STATUSES, merchant_id, entity, list(latest), list(latest.values()))
    return int(result.split()[-1])


@dataclass(frozen=True, slots=True)
class Done:
    item: Claimed
    at: datetime
    remote_id: str | None
    remote_status: str | None
    remote_hash: str | None


async def record_intents(
    conn: asyncpg.Pool | asyncpg.Connection, merchant_id: str, intents: Sequence[tuple[Claimed, str, str]]
) -> None:
    """(row, outbound id, outbound hash) of each create about to be sent, in one statement; only rows this
    process still holds (a stale holder that resumed after a take-over writes nothing)."""
    if not intents:
        return
    intents = sorted(intents, key=lambda i: _key(i[0]))
    await conn.execute(
        _INTENTS,
        merchant_id,
        [i.channel for i, _, _ in intents],
        [i.entity for i, _, _ in intents],
        [i.external_id for i, _, _ in intents],
        [remote_id for _, remote_id, _ in intents],
        [remote_hash for _, _, remote_hash in intents],
        INSTANCE_ID,
    )


def _key(item: Claimed) -> tuple[str, str, str]:
    # Multi-row updates lock rows in the order they are given (a nested loop over the arrays): every writer
    # sorting the same way cannot deadlock with another over rows both touch (a resumed stale holder and
    # the new owner, before the claim check turns the stale one away).
    return (item.channel, item.entity, item.external_id)


async def write_done(pool: asyncpg.Pool, merchant_id: str, outcomes: Sequence[Done]) -> None:
    if not outcomes:
        return
    outcomes = sorted(outcomes, key=lambda o: _key(o.item))
    rows = await pool.fetch(
        _DONE,
        merchant_id,
        INSTANCE_ID,
        [o.item.channel for o in outcomes],
        [o.item.entity for o in outcomes],
        [o.item.external_id for o in outcomes],
        [o.item.pulled_hash for o in outcomes],
        [o.remote_id for o in outcomes],
        [o.remote_status for o in outcomes],
        [o.remote_hash for o in outcomes],
        [o.at for o in outcomes],
    )
    written = {(r["channel"], r["entity"], r["external_id"]) for r in rows}
    for o in outcomes:
        if (o.item.channel, o.item.entity, o.item.external_id) not in written:
            logger.warning(
                "{} {} of {}: outcome dropped, another instance has taken the record over or it was "
                "settled otherwise meanwhile",
                o.item.entity,
                o.item.label or o.item.external_id,
                o.item.channel,
            )


class OutcomeBatch:
    """The ``done`` outcomes of one claimed batch, written behind (see the module's docstring)."""

    def __init__(self, pool: asyncpg.Pool, merchant_id: str, flush_at: int = FLUSH_AT) -> None:
        self.pool = pool
        self.merchant_id = merchant_id
        self.flush_at = flush_at
        self._pending: list[Done] = []
        self._lock = asyncio.Lock()

    def __len__(self) -> int:
        return len(self._pending)

    async def add(self, outcome: Done) -> None:
        self._pending.append(outcome)
        if len(self._pending) < self.flush_at:
            return
        try:
            await self.flush()
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            # Not this record's failure (its work is done): the batch's last flush tries again.
            logger.debug("outcomes not written yet ({} waiting): {}", len(self._pending), exc)

    async def flush(self) -> None:
        async with self._lock:
            taken, self._pending = self._pending, []
            try:
                await write_done(self.pool, self.merchant_id, taken)
            except BaseException:
                # Kept for the next flush (the end of the batch tries again); the rows stay claimed meanwhile.
                self._pending[:0] = taken
                raise


_CURRENT: ContextVar[OutcomeBatch | None] = ContextVar("outcome_batch", default=None)


def current_batch(merchant_id: str) -> OutcomeBatch | None:
    batch = _CURRENT.get()
    return batch if batch is not None and batch.merchant_id == merchant_id else None


@contextmanager
def collecting(batch: OutcomeBatch) -> Iterator[OutcomeBatch]:
    """``Snapshot.done`` inside (tasks started inside included) goes to ``batch``; the caller flushes it."""
    token = _CURRENT.set(batch)
    try:
        yield batch
    finally:
        _CURRENT.reset(token)
