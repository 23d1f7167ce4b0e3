from pathlib import Path

import asyncpg
import pytest

from daemon.store import migrate, open_database, schema_version


async def test_embedded_server_starts_in_state_dir_and_stops_on_exit(tmp_path: Path) -> None:
    state_dir = tmp_path / "state" / "ffn-sync"  # parents are created
    sql_dir = tmp_path / "sql"
    sql_dir.mkdir()
    (sql_dir / "0001_t.sql").write_text("create table t (merchant_id text primary key);")

    async with open_database(None, state_dir, pool_min=1, pool_max=2) as db:
        assert db.is_embedded
        assert (state_dir / "pgdata" / "PG_VERSION").exists()
        assert await db.pool.fetchval("select current_database()") == "ffn_sync"
        assert await migrate(db.pool, sql_dir) == [1]
        dsn = db.dsn
        assert "ffn_sync" in repr(db)

    assert not (state_dir / "pgdata" / "postmaster.pid").exists(), "server stopped on exit"
    with pytest.raises((OSError, asyncpg.PostgresError)):
        await asyncpg.connect(dsn, timeout=5)

    # A second start adopts the same data directory and database.
    async with open_database(None, state_dir) as db:
        assert await schema_version(db.pool) == 1
