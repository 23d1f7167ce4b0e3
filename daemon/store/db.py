"""Connection pool and the database handle the daemon holds for its lifetime."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import orjson
from loguru import logger

from daemon.store.embedded import EmbeddedPostgres, start_embedded, stop_embedded
from daemon.store.startup import LIBPQ_KEYS, classify, split_query

APPLICATION_NAME = "ffn-sync"
# Identifies this process: its work claims (snapshot.claimed_by) end in INSTANCE_TOKEN, and so does the
# application_name of each of its connections, so another instance can tell whether the claimer still runs.
INSTANCE_TOKEN = uuid.uuid4().hex[:12]
INSTANCE_ID = f"{socket.gethostname()}:{os.getpid()}:{INSTANCE_TOKEN}"
POOL_APPLICATION_NAME = f"{APPLICATION_NAME} {INSTANCE_TOKEN}"
LEASE_APPLICATION_NAME = f"{APPLICATION_NAME} lease {INSTANCE_TOKEN}"
POOL_CLOSE_GRACE_S = 10.0
# jsonb's binary wire format is the JSON text prefixed with a format version byte.
_JSONB_VERSION = b"\x01"

_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
# A query password runs until the next known parameter (an unencoded '&' inside it stays masked).
_QUERY_PASSWORD = re.compile(rf"(?P<head>[?&]password=).*?(?=&(?:{LIBPQ_KEYS})=|$)", re.IGNORECASE)


Row = TypeVar("Row")


def record_as(cls: type[Row], record: asyncpg.Record, **converted: Any) -> Row:
    """A dataclass from the columns of ``record`` named as its fields; ``converted`` overrides some of them
    (arrays wanted as tuples, say). Extra columns are left out."""
    values = {f.name: record[f.name] for f in fields(cls) if f.name not in converted}  # type: ignore[arg-type]
    return cls(**values, **converted)


def safe_dsn(dsn: str) -> str:
    """The DSN with any password replaced by ``***``: safe for logs and error messages.

    The user info ends at the LAST '@': a password whose '@', ':', '/', '?' or '#' was not
    percent-encoded is masked whole, never cut at its first special character.
    """
    scheme = _SCHEME.match(dsn)
    masked = dsn
    if scheme is not None:
        authority, query = split_query(dsn[scheme.end() :])
        userinfo, at, location = authority.rpartition("@")
        if at and ":" in userinfo:
            location = f"{userinfo.split(':', 1)[0]}:***@{location}"
        elif at:
            location = f"{userinfo}@{location}"
        masked = f"{scheme.group(0)}{location}" + (f"?{query}" if query else "")
    return _QUERY_PASSWORD.sub(lambda m: f"{m['head']}***", masked)


def _encode_jsonb(value: Any) -> bytes:
    return _JSONB_VERSION + orjson.dumps(value)


def _decode_jsonb(data: bytes) -> Any:
    if data[:1] != _JSONB_VERSION:
        raise ValueError(f"unsupported jsonb wire format version {data[:1]!r}")
    return orjson.loads(data[1:])


async def _init_connection(conn: asyncpg.Connection) -> None:
    # Binary format skips a bytes→str→bytes round trip for every JSON value.
    await conn.set_type_codec(
        "jsonb", schema="pg_catalog", encoder=_encode_jsonb, decoder=_decode_jsonb, format="binary"
    )
    await conn.set_type_codec(
        "json", schema="pg_catalog", encoder=orjson.dumps, decoder=orjson.loads, format="binary"
    )


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Release without asyncpg's default reset (``pg_advisory_unlock_all; CLOSE ALL; UNLISTEN *; RESET
    ALL``: four statements after every acquire, most of an idle fleet's database work).

    Nothing the daemon runs on a pool connection leaves session state behind: advisory locks are
    transaction-scoped (``pg_advisory_xact_lock``), there are no ``SET``, ``LISTEN`` or ``DECLARE``
    statements, and asyncpg still rolls back a transaction left open. The exceptions hold their own
    connections (the merchant lease, the wake listener, the embedded server's admin connection) or reset
    explicitly (``migrate``, whose session lock and migration files may ``SET``).
    ``tests/daemon/store/test_pool.py`` checks both: the state after the daemon's statements and the
    statements themselves.
    """


async def create_pool(
    dsn: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    statement_cache_size: int = 256,
) -> asyncpg.Pool:
    """A pool whose connections encode/decode ``json``/``jsonb`` with orjson (any JSON-able value).

    ``statement_cache_size`` must be 0 behind a transaction-mode pgbouncer; the default suits a
    direct connection (the daemon runs a small, fixed set of statements).
    """
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        reset=_keep_session,
        statement_cache_size=statement_cache_size,
        max_inactive_connection_lifetime=300.0,
        server_settings={"application_name": POOL_APPLICATION_NAME},
    )
    if pool is None:  # only when awaited in a non-standard way; keeps the type honest
        raise RuntimeError(f"could not create a pool for {safe_dsn(dsn)}")
    return pool


@dataclass(eq=False)
class Database:
    """The pool plus, when no DSN was configured, the embedded server behind it."""

    pool: asyncpg.Pool
    dsn: str = field(repr=False)
    embedded: EmbeddedPostgres | None = field(default=None, repr=False)

    @property
    def safe_dsn(self) -> str:
        return safe_dsn(self.dsn)

    @property
    def is_embedded(self) -> bool:
        return self.embedded is not None

    def __repr__(self) -> str:
        return f"Database(dsn={self.safe_dsn!r}, embedded={self.is_embedded})"


async def _close_pool(pool: asyncpg.Pool, grace_s: float = POOL_CLOSE_GRACE_S) -> None:
    try:
        await asyncio.wait_for(pool.close(), grace_s)
    except TimeoutError:
        # A connection still checked out (e.g. a cancelled cycle) must not block shutdown forever.
        logger.warning("database connections still busy after {:.0f} s, terminating them", grace_s)
        pool.terminate()


async def _connect(dsn: str, pool_min: int, pool_max: int) -> asyncpg.Pool:
    try:
        return await create_pool(dsn, min_size=pool_min, max_size=pool_max)
    except Exception as exc:
        problem = classify(exc, dsn)
        if problem is None:
            raise
        raise problem from None  # the driver's message may quote the DSN


@asynccontextmanager
async def open_database(
    dsn: str | None, state_dir: Path, *, pool_min: int = 1, pool_max: int = 10
) -> AsyncIterator[Database]:
    """Open the pool (starting an embedded server in ``state_dir`` when ``dsn`` is None); close all on exit.

    Migrations are not applied here: call ``daemon.store.migrate(db.pool)``.
    """
    embedded: EmbeddedPostgres | None = None
    if dsn is None:
        embedded = await start_embedded(state_dir)
        dsn = embedded.dsn()
    try:
        pool = await _connect(dsn, pool_min, pool_max)
        db = Database(pool=pool, dsn=dsn, embedded=embedded)
        logger.info("database {} open (pool {}..{})", db.safe_dsn, pool_min, pool_max)
        try:
            yield db
        finally:
            await _close_pool(pool)
    finally:
        if embedded is not None:
            await stop_embedded(embedded)
