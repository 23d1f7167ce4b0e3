"""The embedded Postgres trusts nobody: scram passwords, a 0600 secret, private directories."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import asyncpg
import pytest
from loguru import logger

from daemon.store import open_database
from tests.chaos.ops_world import server_dir


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_embedded_postgres_requires_the_generated_password_and_keeps_it_private() -> None:
    with server_dir() as root:
        await _check_embedded(root / "state")


async def _check_embedded(state_dir: Path) -> None:
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="DEBUG", format="{message}")
    try:
        await _check_server(state_dir)
    finally:
        logger.remove(sink)
    secret = (state_dir / "pg_password").read_text().strip()
    assert lines and not [line for line in lines if secret in line]


async def _check_server(state_dir: Path) -> None:
    async with open_database(None, state_dir, pool_min=1, pool_max=2) as db:
        assert await db.pool.fetchval("select 1") == 1  # the daemon itself logs in with the secret
        secret_file = state_dir / "pg_password"
        secret = secret_file.read_text().strip()
        assert len(secret) >= 32 and secret in db.dsn and secret not in repr(db)
        assert _mode(secret_file) == 0o600
        assert _mode(state_dir / "pgdata") == 0o700
        # Nobody but the owner may enter state_dir; as root, the server's own group may pass through.
        assert _mode(state_dir) == (0o710 if os.geteuid() == 0 else 0o700)  # root: group root only
        hba = (state_dir / "pgdata" / "pg_hba.conf").read_text()
        assert "trust" not in hba.replace("# Written", "") and "scram-sha-256" in hba
        wrong = db.dsn.replace(secret, "guessed")
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(wrong, timeout=10)
        without = db.dsn.replace(f":{secret}@", ":@")
        with pytest.raises((asyncpg.InvalidPasswordError, asyncpg.ClientConfigurationError)):
            await asyncpg.connect(without, timeout=10)
        method = await db.pool.fetchval("select rolpassword from pg_authid where rolname = 'postgres'")
        assert method.startswith("SCRAM-SHA-256$")

    # A second start reuses the secret and the server's data.
    async with open_database(None, state_dir) as db:
        assert secret in db.dsn
        assert await db.pool.fetchval("select current_database()") == "ffn_sync"


@pytest.mark.parametrize("crash_at", ["setting the password", "reloading pg_hba.conf"])
@pytest.mark.parametrize("then", ["the machine restarts", "only the daemon restarts"])
async def test_a_crash_while_passwords_are_switched_on_never_locks_out_nor_leaves_trust(
    crash_at: str, then: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from daemon.store.embedded import EmbeddedPostgres

    real_psql = EmbeddedPostgres._psql
    crash_on = "ALTER ROLE" if crash_at == "setting the password" else "pg_reload_conf"

    def psql(server: EmbeddedPostgres, command: str, *, password: str | None) -> None:
        if crash_on in command:
            raise RuntimeError(f"killed while {crash_at}")
        real_psql(server, command, password=password)

    with server_dir() as root:
        state_dir = root / "state"
        first = EmbeddedPostgres(state_dir)
        monkeypatch.setattr(EmbeddedPostgres, "_psql", psql)
        with pytest.raises(RuntimeError, match="killed"):
            first.start()
        monkeypatch.undo()
        if then == "the machine restarts":  # the server comes up reading whatever pg_hba.conf is on disk
            first._server.cleanup()
        # else: the server outlived the daemon, still running under the rules it read at its start.
        first._server = None
        async with open_database(None, state_dir, pool_min=1, pool_max=1) as db:
            assert await db.pool.fetchval("select 1") == 1
            secret = (state_dir / "pg_password").read_text().strip()
            with pytest.raises(asyncpg.InvalidPasswordError):
                await asyncpg.connect(db.dsn.replace(secret, "guessed"), timeout=10)
            with pytest.raises((asyncpg.InvalidPasswordError, asyncpg.ClientConfigurationError)):
                await asyncpg.connect(db.dsn.replace(f":{secret}@", ":@"), timeout=10)


async def test_an_edited_pg_hba_conf_is_rewritten_and_the_daemon_still_starts() -> None:
    with server_dir() as root:
        state_dir = root / "state"
        async with open_database(None, state_dir, pool_min=1, pool_max=1):
            pass
        hba = state_dir / "pgdata" / "pg_hba.conf"
        hba.write_text(hba.read_text() + "# an operator's note\n")
        async with open_database(None, state_dir, pool_min=1, pool_max=1) as db:
            assert await db.pool.fetchval("select 1") == 1
        assert "operator" not in hba.read_text()


@pytest.mark.parametrize("secret_file", ["lost", "replaced"])
async def test_a_lost_or_replaced_password_file_refuses_to_start_with_exit_78(secret_file: str) -> None:
    from daemon.store.startup import DatabaseStartupError

    with server_dir() as root:
        state_dir = root / "state"
        async with open_database(None, state_dir, pool_min=1, pool_max=1):
            pass
        password_file = state_dir / "pg_password"
        if secret_file == "lost":
            password_file.unlink()
        else:
            password_file.write_text("not-the-password-of-this-server\n")
        with pytest.raises(DatabaseStartupError) as refused:
            async with open_database(None, state_dir, pool_min=1, pool_max=1):
                pass
        assert refused.value.exit_code == 78
        assert "pg_password" in str(refused.value) and "restore" in str(refused.value)
