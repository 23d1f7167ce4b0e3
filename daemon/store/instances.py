"""Who runs: the ``instances`` registry several ffn-sync processes on one Postgres balance with.

Each process renews its row on its lease connection (``MerchantLease.renew``): the row's ``heartbeat_at``
and the lease connection's life are the same fact. A peer counts as alive while its heartbeat is younger
than its own ``lease_timeout_s`` AND its lease connection is still in ``pg_stat_activity``: a killed
process drops out at once (its connection closes with it), a frozen one (SIGSTOP: socket open, nobody
answering) after ``lease_timeout_s``, which is also when Postgres ends its idle lease connection and so
frees its merchants (``idle_session_timeout``, see ``daemon.store.lease``).

The rows are bookkeeping: the advisory locks alone decide who writes for a merchant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from daemon.store.db import APPLICATION_NAME, record_as

LEASE_APPLICATION_PREFIX = f"{APPLICATION_NAME} lease "

_RENEW = """
INSERT INTO instances AS i
    (instance_id, token, host, pid, version, schema_version, lease_timeout_s, merchants)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (instance_id) DO UPDATE SET
    heartbeat_at = now(), lease_timeout_s = EXCLUDED.lease_timeout_s, merchants = EXCLUDED.merchants
"""

_ALIVE = f"""
SELECT count(*) FROM instances i
WHERE i.heartbeat_at > now() - make_interval(secs => i.lease_timeout_s)
  AND EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.application_name = '{LEASE_APPLICATION_PREFIX}' || i.token)
"""

# A peer that stopped renewing for 1.5 lease timeouts but whose lease connection is still there: Postgres
# without idle_session_timeout (before 14), or a connection kept busy by something else. Its merchants are
# freed by ending that connection; the frozen process itself stopped writing a lease timeout ago (the
# fence runs on its own clock, see daemon.fence). Only a connection that renewed the stale heartbeat is
# ended, not the new one of a process that resumed and is about to renew. Rows of processes gone for an
# hour are forgotten.
_END_STALE = f"""
WITH stale AS (
    SELECT i.token, i.heartbeat_at FROM instances i
    WHERE i.instance_id <> $1
      AND i.heartbeat_at < now() - make_interval(secs => 1.5 * i.lease_timeout_s)
)
SELECT count(*) FILTER (WHERE pg_terminate_backend(a.pid)) FROM pg_stat_activity a
JOIN stale s ON a.application_name = '{LEASE_APPLICATION_PREFIX}' || s.token
WHERE a.backend_start <= s.heartbeat_at
"""
_FORGET_GONE = "DELETE FROM instances WHERE heartbeat_at < now() - interval '1 hour'"

_TAKE = """
INSERT INTO merchant_owners (merchant_id, instance_id) SELECT unnest($1::text[]), $2
ON CONFLICT (merchant_id) DO UPDATE SET instance_id = EXCLUDED.instance_id, since = now()
"""
_GIVE_BACK = "DELETE FROM merchant_owners WHERE merchant_id = ANY($1::text[]) AND instance_id = $2"


@dataclass(frozen=True, slots=True)
class InstanceRow:
    instance_id: str
    host: str
    pid: int
    version: str
    schema_version: int
    merchants: int
    started_at: datetime
    heartbeat_at: datetime
    alive: bool


@dataclass(frozen=True, slots=True)
class OwnerRow:
    merchant_id: str
    instance_id: str
    host: str | None
    pid: int | None
    since: datetime
    alive: bool  # the owner is alive: it holds the merchant (a dead one's row waits for the next owner)


@dataclass(frozen=True, slots=True)
class Registration:
    instance_id: str
    token: str
    host: str
    pid: int
    version: str
    schema_version: int


def lease_application_name(me: Registration) -> str:
    return f"{LEASE_APPLICATION_PREFIX}{me.token}"


async def renew(conn: asyncpg.Connection, me: Registration, lease_timeout_s: float, merchants: int) -> int:
    """Renew this process' row; return how many instances are alive (this one included)."""
    await conn.execute(
        _RENEW,
        me.instance_id,
        me.token,
        me.host,
        me.pid,
        me.version,
        me.schema_version,
        lease_timeout_s,
        merchants,
    )
    return int(await conn.fetchval(_ALIVE))


async def end_stale_peers(conn: asyncpg.Connection, me: Registration) -> int:
    """End the lease connections of peers that stopped renewing; return how many were ended."""
    ended = int(await conn.fetchval(_END_STALE, me.instance_id))
    await conn.execute(_FORGET_GONE)
    return ended


async def record_owner(conn: asyncpg.Connection, merchant_ids: list[str], instance_id: str) -> None:
    await conn.execute(_TAKE, merchant_ids, instance_id)


async def forget_owner(conn: asyncpg.Connection, merchant_ids: list[str], instance_id: str) -> None:
    await conn.execute(_GIVE_BACK, merchant_ids, instance_id)


_UNOWNED = f"""
SELECT m FROM unnest($1::text[]) AS m
WHERE NOT EXISTS (
    SELECT 1 FROM merchant_owners o JOIN instances i ON i.instance_id = o.instance_id
    WHERE o.merchant_id = m
      AND i.heartbeat_at > now() - make_interval(secs => i.lease_timeout_s)
      AND EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.application_name = '{LEASE_APPLICATION_PREFIX}' || i.token)
)
ORDER BY m
"""
_FIRST_ALIVE = f"""
SELECT min(i.instance_id) FROM instances i
WHERE i.heartbeat_at > now() - make_interval(secs => i.lease_timeout_s)
  AND EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.application_name = '{LEASE_APPLICATION_PREFIX}' || i.token)
"""


async def unowned(conn: asyncpg.Connection, merchant_ids: list[str]) -> tuple[list[str], str | None]:
    """Which of ``merchant_ids`` no living instance owns, and the lowest living instance id (the one that
    reports them, so N instances do not say it N times)."""
    orphans = [str(r[0]) for r in await conn.fetch(_UNOWNED, merchant_ids)]
    first = await conn.fetchval(_FIRST_ALIVE)
    return orphans, None if first is None else str(first)


_INSTANCES = f"""
SELECT i.*, (i.heartbeat_at > now() - make_interval(secs => i.lease_timeout_s)
  AND EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.application_name = '{LEASE_APPLICATION_PREFIX}' || i.token))
  AS alive
FROM instances i ORDER BY i.host, i.started_at
"""
_OWNERS = """
SELECT o.merchant_id, o.instance_id, i.host, i.pid, o.since, coalesce(i.alive, false) AS alive
FROM merchant_owners o LEFT JOIN ({instances}) i ON i.instance_id = o.instance_id
WHERE $1::text IS NULL OR o.merchant_id = $1
ORDER BY o.merchant_id
"""


async def instance_rows(pool: asyncpg.Pool) -> list[InstanceRow]:
    if await pool.fetchval("SELECT to_regclass('instances')") is None:
        return []  # a database of a release before 0009
    return [record_as(InstanceRow, r) for r in await pool.fetch(_INSTANCES)]


async def owner_rows(pool: asyncpg.Pool, merchant: str | None = None) -> list[OwnerRow]:
    if await pool.fetchval("SELECT to_regclass('merchant_owners')") is None:
        return []
    query = _OWNERS.format(instances=_INSTANCES.replace("ORDER BY i.host, i.started_at", ""))
    return [record_as(OwnerRow, r) for r in await pool.fetch(query, merchant)]
