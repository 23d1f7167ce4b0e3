"""Cross-process wake-ups: ``ffn-sync ffn-login`` tells a running daemon that a merchant's FFN consent is
fresh (Postgres LISTEN/NOTIFY), so the merchant's flows stop waiting out their backoff at once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg
from loguru import logger

WAKE_CHANNEL = "ffn_sync_wake"
RECONNECT_S = 5.0


async def announce_login(pool: asyncpg.Pool, merchant_id: str) -> None:
    await pool.execute("SELECT pg_notify($1, $2)", WAKE_CHANNEL, merchant_id)


async def listen_for_wakes(dsn: str, on_wake: Callable[[str], object]) -> None:
    """Call ``on_wake(merchant_id)`` for every announcement, reconnecting after a lost connection; runs
    until cancelled. A wake-up missed while disconnected only means the flows wait for their backoff."""
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
            await _listen(conn, on_wake)
        finally:
            await conn.close(timeout=5)


async def _listen(conn: asyncpg.Connection, on_wake: Callable[[str], object]) -> None:
    """Deliver announcements until the connection is lost."""
    lost = asyncio.Event()

    def deliver(_conn: object, _pid: int, _channel: str, payload: str) -> None:
        on_wake(payload)

    conn.add_termination_listener(lambda _conn: lost.set())
    await conn.add_listener(WAKE_CHANNEL, deliver)
    await lost.wait()
