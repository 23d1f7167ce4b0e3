import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from daemon.store import (
    DatabaseNewerThanCode,
    MigrationChecksumMismatch,
    MigrationError,
    MigrationFailed,
    MigrationLayoutError,
    create_pool,
    load_migrations,
    migrate,
    schema_version,
)

FILES = {
    "0001_items.sql": "create table items (merchant_id text not null, id text not null, primary key (merchant_id, id));",
    "0002_audit.sql": (
        "create table audit (n serial primary key, note text not null);\n"
        "insert into audit (note) values ('0002 applied');"
    ),
    "0003_items_payload.sql": "alter table items add column payload jsonb;\ninsert into audit (note) values ('0003');",
}


def write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, sql in files.items():
        (directory / name).write_text(sql, encoding="utf-8")
    return directory


@pytest.fixture
def sql_dir(tmp_path: Path) -> Path:
    return write(tmp_path / "sql", FILES)


@pytest.fixture
async def pool(pg_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(pg_dsn, min_size=1, max_size=2)
    yield pool
    await pool.close()


async def test_fresh_database_is_migrated_to_latest(pool: asyncpg.Pool, sql_dir: Path) -> None:
    assert await schema_version(pool) == 0

    applied = await migrate(pool, sql_dir)

    assert applied == [1, 2, 3]
    assert await schema_version(pool) == 3
    rows = await pool.fetch("select version, name, checksum from schema_migrations order by version")
    assert [(r["version"], r["name"]) for r in rows] == [(1, "items"), (2, "audit"), (3, "items_payload")]
    assert [r["checksum"] for r in rows] == [m.checksum for m in load_migrations(sql_dir)]
    assert (
        await pool.fetchval("select count(*) from information_schema.columns where column_name = 'payload'")
        == 1
    )


async def test_rerun_is_a_no_op(pool: asyncpg.Pool, sql_dir: Path) -> None:
    await migrate(pool, sql_dir)

    assert await migrate(pool, sql_dir) == []
    assert await pool.fetchval("select count(*) from audit") == 2


async def test_only_new_files_are_applied_later(pool: asyncpg.Pool, tmp_path: Path) -> None:
    directory = write(tmp_path / "sql", {k: v for k, v in FILES.items() if not k.startswith("0003")})
    assert await migrate(pool, directory) == [1, 2]

    write(directory, {"0003_items_payload.sql": FILES["0003_items_payload.sql"]})

    assert await migrate(pool, directory) == [3]


async def test_database_newer_than_code_is_refused(pool: asyncpg.Pool, sql_dir: Path, tmp_path: Path) -> None:
    await migrate(pool, sql_dir)
    older_code = write(tmp_path / "older", {k: v for k, v in FILES.items() if k.startswith("0001")})

    with pytest.raises(DatabaseNewerThanCode) as caught:
        await migrate(pool, older_code)

    assert caught.value.exit_code == 65
    assert (caught.value.database_version, caught.value.code_version) == (3, 1)
    assert await schema_version(pool) == 3


async def test_edited_applied_file_is_refused_by_name(pool: asyncpg.Pool, sql_dir: Path) -> None:
    await migrate(pool, sql_dir)
    (sql_dir / "0002_audit.sql").write_text(FILES["0002_audit.sql"] + "\n-- tweak\n", encoding="utf-8")
    write(sql_dir, {"0004_more.sql": "create table more (x int);"})

    with pytest.raises(MigrationChecksumMismatch) as caught:
        await migrate(pool, sql_dir)

    assert caught.value.filenames == ["0002_audit.sql"]
    assert "0002_audit.sql" in str(caught.value)
    assert isinstance(caught.value, MigrationError) and caught.value.exit_code == 65
    assert await schema_version(pool) == 3, "nothing is applied once a checksum mismatch is found"


async def test_concurrent_migrators_apply_each_file_once(pg_dsn: str, sql_dir: Path) -> None:
    pools = [await create_pool(pg_dsn, min_size=1, max_size=1) for _ in range(2)]
    try:
        results = await asyncio.gather(*(migrate(p, sql_dir) for p in pools))
        audit = await pools[0].fetch("select note from audit order by n")
    finally:
        for p in pools:
            await p.close()

    assert sorted(results, key=len) == [[], [1, 2, 3]]
    assert [r["note"] for r in audit] == ["0002 applied", "0003"]


async def test_failing_migration_is_rolled_back_and_named(pool: asyncpg.Pool, tmp_path: Path) -> None:
    directory = write(
        tmp_path / "sql",
        {
            "0001_ok.sql": "create table ok (x int);",
            "0002_bad.sql": "create table half (x int);\nselect nope;",
        },
    )

    with pytest.raises(MigrationFailed, match=r"0002_bad\.sql"):
        await migrate(pool, directory)

    assert await schema_version(pool) == 1
    assert await pool.fetchval("select to_regclass('half')") is None
    assert await pool.fetchval("select pg_try_advisory_lock(hashtext('probe'))"), "pool still usable"


async def test_lock_is_released_after_a_refusal(pool: asyncpg.Pool, sql_dir: Path, tmp_path: Path) -> None:
    await migrate(pool, sql_dir)
    with pytest.raises(DatabaseNewerThanCode):
        await migrate(pool, write(tmp_path / "older", {"0001_items.sql": FILES["0001_items.sql"]}))

    assert await asyncio.wait_for(migrate(pool, sql_dir), timeout=10) == []


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"0001_a.sql": "", "0003_c.sql": ""}, "version 0002 is missing"),
        ({"0002_b.sql": ""}, "version 0001 is missing"),
        ({"0001_a.sql": "", "0001_b.sql": ""}, "share version 1"),
        ({"0001_a.sql": "", "2_b.sql": ""}, "'2_b.sql' is misnamed"),
        ({"0001_a.sql": "", "0002 b.sql": ""}, "misnamed"),
    ],
)
def test_bad_layout_is_a_clear_error(tmp_path: Path, files: dict[str, str], message: str) -> None:
    directory = write(tmp_path / "sql", files)

    with pytest.raises(MigrationLayoutError, match=message):
        load_migrations(directory)


def test_non_sql_files_are_ignored(tmp_path: Path) -> None:
    directory = write(tmp_path / "sql", {"0001_a.sql": "select 1;", ".gitkeep": "", "notes.txt": "x"})

    assert [m.filename for m in load_migrations(directory)] == ["0001_a.sql"]


def test_shipped_migrations_are_well_formed() -> None:
    migrations = load_migrations()

    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))


async def test_shipped_migrations_apply_to_a_fresh_database(pool: asyncpg.Pool) -> None:
    shipped = [m.version for m in load_migrations()]

    assert await migrate(pool) == shipped
    assert await migrate(pool) == []
    assert await schema_version(pool) == (shipped[-1] if shipped else 0)
