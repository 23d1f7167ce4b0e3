"""Rolling upgrades: release N keeps running on a database release N+1 migrated, never on one two releases
ahead, and only when the newer migrations say so (daemon/store/sql/README.md)."""

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from daemon.store import DatabaseNewerThanCode, MigrationLayoutError, create_pool, load_migrations, migrate
from daemon.store.migrations import code_schema_version
from tests.daemon.store.test_migrations import write

RELEASE_1 = {
    "0001_items.sql": "create table items (merchant_id text not null, id text not null, primary key (merchant_id, id));",
    "0002_audit.sql": "create table audit (n serial primary key, note text not null);",
}
# Release 2 expands: a new column and a new table. Release 1 ignores both.
RELEASE_2 = {
    **RELEASE_1,
    "0003_items_payload.sql": "-- oldest-compatible: 0002\nalter table items add column payload jsonb;",
    "0004_notes.sql": "-- oldest-compatible: 0002\ncreate table notes (id int primary key);",
}
# Release 3 contracts what release 2 stopped using: release 2 still runs, release 1 must not.
RELEASE_3 = {**RELEASE_2, "0005_drop_audit.sql": "-- oldest-compatible: 0004\ndrop table audit;"}


@pytest.fixture
async def pool(pg_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(pg_dsn)
    yield pool
    await pool.close()


async def test_the_previous_release_runs_on_a_database_one_release_ahead(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    older, newer = write(tmp_path / "r1", RELEASE_1), write(tmp_path / "r2", RELEASE_2)
    assert await migrate(pool, older) == [1, 2]
    assert await migrate(pool, newer) == [3, 4]  # the newer release upgrades first...

    assert await migrate(pool, older) == []  # ...and an instance of the older one still starts


async def test_a_release_two_releases_behind_is_refused(pool: asyncpg.Pool, tmp_path: Path) -> None:
    release_1, release_2 = write(tmp_path / "r1", RELEASE_1), write(tmp_path / "r2", RELEASE_2)
    await migrate(pool, write(tmp_path / "r3", RELEASE_3))

    assert await migrate(pool, release_2) == []
    with pytest.raises(DatabaseNewerThanCode, match="releases of schema 4 or newer") as refused:
        await migrate(pool, release_1)
    assert (refused.value.database_version, refused.value.code_version) == (5, 2)


async def test_a_migration_without_the_declaration_is_compatible_with_no_older_code(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    strict = {**RELEASE_1, "0003_rename.sql": "alter table audit rename column note to text;"}
    await migrate(pool, write(tmp_path / "strict", strict))

    with pytest.raises(DatabaseNewerThanCode, match="schema 3 or newer"):
        await migrate(pool, write(tmp_path / "r1", RELEASE_1))


async def test_rows_from_before_the_window_existed_count_as_strict(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    # A database migrated by a release that did not record compatibility yet.
    await migrate(pool, write(tmp_path / "r2", RELEASE_2))
    await pool.execute("alter table schema_migrations drop column oldest_compatible")

    assert await migrate(pool, write(tmp_path / "r2again", RELEASE_2)) == []  # the column comes back
    with pytest.raises(DatabaseNewerThanCode):
        await migrate(pool, write(tmp_path / "r1", RELEASE_1))


@pytest.mark.parametrize("declared", ["0004", "0000", "two"])
def test_a_declaration_must_name_an_earlier_schema(tmp_path: Path, declared: str) -> None:
    files = {**RELEASE_1, "0003_x.sql": f"-- oldest-compatible: {declared}\nselect 1;"}

    with pytest.raises(MigrationLayoutError, match=r"0003_x\.sql: 'oldest-compatible"):
        load_migrations(write(tmp_path / "sql", files))


def test_shipped_migrations_follow_the_policy() -> None:
    """From 0009 on every shipped migration declares its window (daemon/store/sql/README.md)."""
    migrations = {m.version: m for m in load_migrations()}

    assert migrations[9].oldest_compatible == 8  # instances: expand only
    assert all(m.oldest_compatible < m.version for v, m in migrations.items() if v >= 9)
    assert code_schema_version() == max(migrations)
