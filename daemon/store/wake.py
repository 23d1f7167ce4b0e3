"""Cross-process wake-ups over Postgres LISTEN/NOTIFY: ``ffn-sync ffn-login`` tells a running daemon that a
merchant's FFN consent is fresh, so the merchant's flows stop waiting out their backoff at once; and an
instance that received a webhook delivery for a merchant another instance owns hands the nudge over, so the
owner's flow runs now (``announce_nudge``); and ``ffn-sync resync`` tells it that cursors moved back, so it
forgets the positions it keeps in memory (``announce_rewind``, ``daemon.store.progress.Cursors``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg
import orjson
from loguru import logger

WAKE_CHANNEL = "ffn_sync_wake"
NUDGE_CHANNEL = "ffn_sync_nudge"
REWIND_CHANNEL = "ffn_sync_rewind"
EVERY_MERCHANT = ""  # a rewind's payload when it covered every merchant
RECONNECT_S = 5.0


async def announce_login(pool: asyncpg.Pool, merchant_id: str) -> None:
    await pool.execute("SELECT pg_notify($1, $2)", WAKE_CHANNEL, merchant_id)


async def announce_nudge(
    pool: asyncpg.Pool, merchant_id: str, channel: str, flow: str, new_record: bool
) -> None:
    """A webhook nudged ``flow`` of ``channel`` here, but another instance owns the merchant."""
    payload = orjson.dumps({"merchant": merchant_id, "channel": channel, "flow": flow, "new": new_record})
    await pool.execute("SELECT pg_notify($1, $2)", NUDGE_CHANNEL, payload.decode())


async def announce_rewind(conn: asyncpg.Connection | asyncpg.Pool, merchant_id: str | None) -> None:
    """Cursors of ``merchant_id`` (None: of every merchant) moved back; inside the rewind's transaction."""
    await conn.execute("SELECT pg_notify($1, $2)", REWIND_CHANNEL, merchant_id or EVERY_MERCHANT)


async def listen_for_wakes(
    dsn: str,
    on_wake: Callable[[str], object],
    on_nudge: Callable[[str], object] | None = None,
    on_rewind: Callable[[str | None], object] | None = None,
) -> None:
    """Call ``on_wake(merchant_id)`` for every login announcement, ``on_nudge(payload)`` for every nudge
    handed over (the payload unchecked: any database role can NOTIFY) and ``on_rewind(merchant_id)`` for
    every rewind (None: every merchant), reconnecting after a lost connection; runs until cancelled. A
    wake-up missed while disconnected only means the flows wait for their backoff, a nudge missed that the
    order waits for the next poll; a rewind cannot be missed: each time listening starts (the first time
    included) ``on_rewind(None)`` says that any may have been."""
    warned = False
    while True:
        try:
            conn = await asyncpg.connect(dsn)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            if not warned:
                logger.warning("cannot listen for ffn-login wake-ups: {}; retrying", type(exc).__name__)
                warned = True
            await asyncio.sleep(RECONNECT_S)
            continue
        warned = False
        try:
            await _listen(conn, on_wake, on_nudge, on_rewind)
        finally:
            await conn.close(timeout=5)


async def _listen(
    conn: asyncpg.Connection,
    on_wake: Callable[[str], object],
    on_nudge: Callable[[str], object] | None,
    on_rewind: Callable[[str | None], object] | None,
) -> None:
    """Deliver announcements until the connection is lost."""
    lost = asyncio.Event()

    def deliver(_conn: object, _pid: int, channel: str, payload: str) -> None:
        if channel == WAKE_CHANNEL:
            on_wake(payload)
        elif channel == REWIND_CHANNEL:
            if on_rewind is not None:
                on_rewind(payload or None)
        elif on_nudge is not None:
            on_nudge(payload)

    conn.add_termination_listener(lambda _conn: lost.set())
    await conn.add_listener(WAKE_CHANNEL, deliver)
    if on_nudge is not None:
        await conn.add_listener(NUDGE_CHANNEL, deliver)
    if on_rewind is not None:
        await conn.add_listener(REWIND_CHANNEL, deliver)
        on_rewind(None)  # whatever moved back while nobody listened
    await lost.wait()
