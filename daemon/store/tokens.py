"""OAuth tokens in Postgres (table ``oauth_tokens``, migration 0001), one row per (merchant, upstream).

FFN refresh tokens are single-use, so the row is replaced by a single autocommitted UPSERT: once
``save`` returns, the newest refresh token is durable, and a crash at any moment leaves either the old
row (whose refresh token was not spent yet) or the new one, never neither.
"""

from __future__ import annotations

import asyncpg

from daemon.oauth import TokenSet

_LOAD = """
SELECT access_token, refresh_token, expires_at FROM oauth_tokens WHERE merchant_id = $1 AND upstream = $2
"""
_SAVE = """
INSERT INTO oauth_tokens (merchant_id, upstream, access_token, refresh_token, expires_at, rotated_at)
VALUES ($1, $2, $3, $4, $5, now())
ON CONFLICT (merchant_id, upstream) DO UPDATE
SET access_token = EXCLUDED.access_token, refresh_token = EXCLUDED.refresh_token,
    expires_at = EXCLUDED.expires_at, rotated_at = now()
"""


class PgTokenStore:
    """``daemon.oauth.TokenStore`` backed by Postgres."""

    def __init__(self, pool: asyncpg.Pool, merchant_id: str, upstream: str = "ffn") -> None:
        self._pool = pool
        self.merchant_id = merchant_id
        self.upstream = upstream

    def __repr__(self) -> str:
        return f"PgTokenStore(merchant_id={self.merchant_id!r}, upstream={self.upstream!r})"

    async def load(self) -> TokenSet | None:
        row = await self._pool.fetchrow(_LOAD, self.merchant_id, self.upstream)
        if row is None:
            return None
        return TokenSet(
            access_token=row["access_token"], refresh_token=row["refresh_token"], expires_at=row["expires_at"]
        )

    async def save(self, tokens: TokenSet) -> None:
        await self._pool.execute(
            _SAVE,
            self.merchant_id,
            self.upstream,
            tokens.access_token,
            tokens.refresh_token,
            tokens.expires_at,
        )
