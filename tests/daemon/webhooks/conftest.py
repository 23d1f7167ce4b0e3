"""Shared by the webhook tests: a migrated pool on the test database, and the log records a test wrote."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest
from loguru import logger

from daemon.store import create_pool, migrate


@pytest.fixture
async def pool(pg_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(pg_dsn)
    await migrate(pool)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
def records() -> Iterator[list[Any]]:
    captured: list[Any] = []
    handler = logger.add(lambda m: captured.append(m.record), level="DEBUG", format="{message}")
    yield captured
    logger.remove(handler)
