"""Where each flow stands: its delta cursor (``cursors``) and its last cycle (``flow_health``).

Both are written once per cycle of every flow of every merchant, so these are the writes a large fleet
pays for on every empty cycle; they live together here so that cost is tuned in one place.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Callable
from datetime import datetime
from typing import Any

import asyncpg
from loguru import logger

from daemon.clock import SYSTEM_CLOCK, Clock
from daemon.store.wake import announce_rewind


class Cursors:
    """The delta cursors of one merchant: per (channel, flow), the position the next window starts from.

    Positions are kept in memory once read or written: this process owns the merchant through its lease,
    so it is the only one moving them forward, and an idle fleet read one per poll (~95 a second at 1,000
    merchants) only to find what it wrote itself. Moving one back is the other writer (``rewind_cursors``,
    ``ffn-sync resync``): it announces the rewind (``daemon.store.wake``) and the running daemon forgets
    the merchant's positions, so its next cycle reads the rewound one (``forget``). A memory is trusted
    for ``TRUST_S`` at most: a take-over after another instance moved the cursor costs at worst a window
    that starts earlier, which re-reads records that are already stored. A rewind is never undone by a
    window read from before it (a read in flight, a missed announcement): ``advance`` moves a cursor only
    while it still stands at or after the window's start.
    """

    TRUST_S = 300.0

    def __init__(self, pool: asyncpg.Pool, merchant_id: str, clock: Clock = SYSTEM_CLOCK) -> None:
        self.pool = pool
        self.merchant_id = merchant_id
        self._clock = clock
        self._known: dict[tuple[str, str], tuple[datetime | None, float]] = {}  # position, monotonic read at
        self._forgotten = 0  # a read that a ``forget`` overtook is not kept

    async def get(self, channel: str, flow: str) -> datetime | None:
        known = self._known.get((channel, flow))
        now = self._clock.monotonic()
        if known is not None and now - known[1] < self.TRUST_S:
            return known[0]
        forgotten = self._forgotten
        position: datetime | None = await self.pool.fetchval(
            "SELECT position FROM cursors WHERE merchant_id = $1 AND channel = $2 AND flow = $3",
            self.merchant_id,
            channel,
            flow,
        )
        if forgotten == self._forgotten:
            self._known[(channel, flow)] = (position, now)
        return position

    def forget(self) -> None:
        """Read every position from Postgres again: another process may have moved one back."""
        self._forgotten += 1
        self._known.clear()

    async def advance(
        self, conn: asyncpg.Connection, channel: str, flow: str, position: datetime, *, read_from: datetime
    ) -> datetime | None:
        """Call inside the transaction that stored the window's last rows; returns the stored position, for
        ``remember`` once that transaction committed (until then the next ``get`` asks Postgres).

        None, and nothing moved, when the cursor stands before ``read_from`` (the window's start): it was
        moved back (``ffn-sync resync``) after this window was planned, and the rewound range must be read."""
        self._known.pop((channel, flow), None)
        stored: datetime | None = await conn.fetchval(
            "INSERT INTO cursors (merchant_id, channel, flow, position) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (merchant_id, channel, flow) DO UPDATE"
            " SET position = greatest(cursors.position, excluded.position), updated_at = now()"
            " WHERE cursors.position >= $5"
            " RETURNING position",
            self.merchant_id,
            channel,
            flow,
            position,
            read_from,
        )
        if stored is None:
            self.forget()
        return stored

    def remember(self, channel: str, flow: str, position: datetime) -> None:
        """``position`` is stored (its transaction committed)."""
        self._known[(channel, flow)] = (position, self._clock.monotonic())


async def rewind_cursors(
    pool: asyncpg.Pool, *, merchant: str | None, since: datetime, flow: str | None, channel: str | None
) -> int:
    """Move matching cursors back to ``since`` (never forward); returns how many moved (``resync``).

    Announced to running daemons (``daemon.store.wake``), which keep positions in memory (``Cursors``):
    delivered once the update commits, so their next cycle reads the rewound position."""
    async with pool.acquire() as conn, conn.transaction():
        result = await conn.execute(
            "UPDATE cursors SET position = least(position, $4), updated_at = now()"
            " WHERE ($1::text IS NULL OR merchant_id = $1) AND ($2::text IS NULL OR flow = $2)"
            " AND ($3::text IS NULL OR channel = $3)",
            merchant,
            flow,
            channel,
            since,
        )
        await announce_rewind(conn, merchant)
    return int(result.split()[-1])


_HEALTH_UPSERT = """
INSERT INTO flow_health AS h (merchant_id, channel, flow, interval_s, last_run_at, last_success_at, last_error,
                              consecutive_failures, last_counts, last_duration_s)
VALUES ($1, $2, $3, $4, $5::timestamptz, CASE WHEN $6::boolean THEN $5::timestamptz END, $7, CASE WHEN $6::boolean THEN 0 ELSE 1 END, $8, $9)
ON CONFLICT (merchant_id, channel, flow) DO UPDATE SET
    interval_s = excluded.interval_s,
    last_run_at = excluded.last_run_at,
    last_success_at = coalesce(excluded.last_success_at, h.last_success_at),
    last_error = excluded.last_error,
    consecutive_failures = CASE WHEN $6::boolean THEN 0 ELSE h.consecutive_failures + 1 END,
    last_counts = excluded.last_counts,
    last_duration_s = excluded.last_duration_s
RETURNING consecutive_failures
"""


async def record_cycle(
    pool: asyncpg.Pool,
    merchant_id: str,
    channel: str,
    flow: str,
    *,
    interval_s: float,
    at: datetime,
    ok: bool,
    error: str | None,
    counts: dict[str, Any],
    duration_s: float,
) -> int:
    """Record one finished cycle; returns the failures in a row including this one (0 after a success)."""
    failures: int = await pool.fetchval(
        _HEALTH_UPSERT, merchant_id, channel, flow, interval_s, at, ok, error, counts, duration_s
    )
    return failures


# A quiet cycle's row (success, no error): the same as ``_HEALTH_UPSERT`` with ok, for many rows at once.
# Never over a newer row: a failure recorded meanwhile (at once, see ``record_cycle``) stands.
_QUIET_HEALTH_UPSERT = """
INSERT INTO flow_health AS h (merchant_id, channel, flow, interval_s, last_run_at, last_success_at, last_error,
                              consecutive_failures, last_counts, last_duration_s)
SELECT u.merchant_id, u.channel, u.flow, u.interval_s, u.at, u.at, NULL, 0, u.counts, u.duration_s
FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::timestamptz[], $6::jsonb[], $7::float8[])
     AS u(merchant_id, channel, flow, interval_s, at, counts, duration_s)
ON CONFLICT (merchant_id, channel, flow) DO UPDATE SET
    interval_s = excluded.interval_s,
    last_run_at = excluded.last_run_at,
    last_success_at = excluded.last_success_at,
    last_error = NULL,
    consecutive_failures = 0,
    last_counts = excluded.last_counts,
    last_duration_s = excluded.last_duration_s
WHERE h.last_run_at IS NULL OR h.last_run_at < excluded.last_run_at
"""

QUIET_FLUSH_S = 1.0
QuietRow = tuple[str, str, str, float, datetime, dict[str, Any], float]


class QuietHealth:
    """Quiet cycles' health rows of every merchant of the process, written together about once a second.

    An idle fleet refreshes a health row every other cycle (``daemon.engine.quiet``): ~50 single-row
    upserts a second at 1,000 merchants, now about one statement. A row waits ``QUIET_FLUSH_S`` at most;
    failures and cycles that did work are still written at once (their caller needs the failure count).
    A flush that fails loses only refreshes: ``on_lost`` tells each row's owner to write it again next time.
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._rows: dict[tuple[str, str, str], tuple[QuietRow, Callable[[], None]]] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._closed = False

    def add(self, row: QuietRow, on_lost: Callable[[], None]) -> None:
        self._rows[row[:3]] = (row, on_lost)  # a newer cycle of the same flow replaces the waiting one
        if self._flusher is None and not self._closed:
            # Not in the cycle's context: its merchant's log context and lease fence are not the flush's.
            self._flusher = asyncio.create_task(
                self._flush_soon(), name="quiet-health", context=contextvars.Context()
            )

    async def _flush_soon(self) -> None:
        try:
            await asyncio.sleep(QUIET_FLUSH_S)
        finally:
            self._flusher = None
        await self.flush()

    async def flush(self) -> None:
        rows, self._rows = self._rows, {}
        if not rows:
            return
        values = [row for row, _ in rows.values()]
        try:
            await self.pool.execute(
                _QUIET_HEALTH_UPSERT, *(list(column) for column in zip(*values, strict=True))
            )
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            logger.warning(
                "could not record {} quiet cycle(s): {}; written with their next cycle", len(rows), exc
            )
            for _, on_lost in rows.values():
                on_lost()

    async def aclose(self) -> None:
        """Write what waits (a reload or shutdown)."""
        self._closed = True
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self.flush()


_FLOW_HEALTH = """
SELECT h.*, c.position FROM flow_health h LEFT JOIN cursors c USING (merchant_id, channel, flow)
WHERE $1::text IS NULL OR h.merchant_id = $1 ORDER BY h.merchant_id, h.channel, h.flow
"""


async def flow_health(pool: asyncpg.Pool, merchant: str | None = None) -> list[asyncpg.Record]:
    """Every flow's last cycle with its cursor position (``status``, ``/healthz``)."""
    return list(await pool.fetch(_FLOW_HEALTH, merchant))
