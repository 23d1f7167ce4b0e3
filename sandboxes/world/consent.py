"""The one-time FFN consent, done automatically against the FFN sandbox (documented code ``sandbox-code``).

A real merchant does this once with ``ffn-sync ffn-login``; the sandbox hands out its test code without a
browser, so every world trades it for the first token pair and store it in Postgres.
"""

from __future__ import annotations

import asyncpg
import orjson
from loguru import logger

from daemon.errors import SyncError
from daemon.secrets import Secret
from sandboxes.world.errors import WorldError
from sandboxes.world.merchant import FFN_AUTH_CODE, FFN_CLIENT_ID, FFN_CLIENT_SECRET, REDIRECT_URI


async def grant_ffn_consent(
    pool: asyncpg.Pool,
    merchant_id: str,
    ffn_url: str,
    client_id: str = FFN_CLIENT_ID,
    client_secret: str = FFN_CLIENT_SECRET,
    *,
    quiet: bool = False,
) -> None:
    """Log ``merchant_id`` in with the OAuth client holding its FFN merchant's consent."""
    try:
        from adapters.ffn.login import exchange_code
        from daemon.store.tokens import PgTokenStore
    except ImportError as exc:
        raise WorldError(f"the FFN login (adapters.ffn.login) is not part of this build: {exc}") from exc
    try:
        await exchange_code(
            f"{ffn_url}/token",
            client_id,
            Secret(client_secret, "demo"),
            FFN_AUTH_CODE,
            REDIRECT_URI,
            PgTokenStore(pool, merchant_id),
        )
    except (SyncError, orjson.JSONDecodeError) as exc:
        raise WorldError(f"FFN consent against the sandbox failed: {exc}") from exc
    if not quiet:
        logger.info("world: FFN consent granted (sandbox authorization code), tokens stored in Postgres")
