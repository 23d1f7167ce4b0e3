"""PgTokenStore against real Postgres."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from daemon.oauth import TokenSet
from daemon.store.tokens import PgTokenStore


async def test_save_replaces_and_is_keyed_by_merchant_and_upstream(pool: asyncpg.Pool) -> None:
    ffn = PgTokenStore(pool, "MX01")
    other_upstream = PgTokenStore(pool, "MX01", upstream="other")
    other_merchant = PgTokenStore(pool, "MX02")
    first = TokenSet("a1", "r1", datetime(2026, 1, 1, tzinfo=UTC))
    second = TokenSet("a2", "r2", datetime(2026, 1, 1, 0, 30, tzinfo=UTC))

    assert await ffn.load() is None
    await ffn.save(first)
    await ffn.save(second)
    await other_upstream.save(first)

    assert await ffn.load() == second
    assert await other_upstream.load() == first
    assert await other_merchant.load() is None
    assert "r2" not in repr(ffn)
