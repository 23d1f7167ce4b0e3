from datetime import UTC, datetime
from pathlib import Path

from daemon.store import create_pool, open_database, safe_dsn


async def test_jsonb_and_json_roundtrip_through_orjson(pg_dsn: str) -> None:
    value = {
        "name": "Grüner Tee 🍵 Größe ß",
        "nested": {"lines": [{"sku": "TEA-1", "qty": 2, "price": 4.95}], "empty": {}, "none": None},
        "flags": [True, False],
        "big": 2**53,
    }
    pool = await create_pool(pg_dsn, min_size=1, max_size=2)
    try:
        await pool.execute("create table doc (id int primary key, body jsonb not null, raw json not null)")
        await pool.execute("insert into doc values (1, $1, $2)", value, value)
        body, raw = await pool.fetchrow("select body, raw from doc where id = 1")
        nested_sku = await pool.fetchval("select body #>> '{nested,lines,0,sku}' from doc")
        as_text = await pool.fetchval("select body->>'name' from doc")
        scalar = await pool.fetchval("select $1::jsonb", [1, "zwei"])
    finally:
        await pool.close()

    assert body == value
    assert raw == value
    assert nested_sku == "TEA-1"
    assert as_text == "Grüner Tee 🍵 Größe ß"
    assert scalar == [1, "zwei"]


async def test_orjson_serialises_datetimes_in_jsonb(pg_dsn: str) -> None:
    pool = await create_pool(pg_dsn, min_size=1, max_size=1)
    try:
        stored = await pool.fetchval("select $1::jsonb", {"at": datetime(2024, 5, 1, 12, 0, tzinfo=UTC)})
    finally:
        await pool.close()

    assert stored == {"at": "2024-05-01T12:00:00+00:00"}


def test_safe_dsn_hides_passwords() -> None:
    assert (
        safe_dsn("postgresql://sync:s3cr%40t@db.example:5432/ffn")
        == "postgresql://sync:***@db.example:5432/ffn"
    )
    assert safe_dsn("postgres://sync@db/ffn?password=hunter2&sslmode=require") == (
        "postgres://sync@db/ffn?password=***&sslmode=require"
    )
    assert (
        safe_dsn("postgresql://postgres:@/ffn_sync?host=/run/pg")
        == "postgresql://postgres:***@/ffn_sync?host=/run/pg"
    )


async def test_open_database_with_a_dsn_uses_it_and_hides_the_password(pg_dsn: str, tmp_path: Path) -> None:
    with_password = pg_dsn.replace("postgres:@", "postgres:not-a-real-secret@")

    async with open_database(with_password, tmp_path / "unused") as db:
        assert not db.is_embedded
        assert await db.pool.fetchval("select 1") == 1
        assert "not-a-real-secret" not in repr(db) and "not-a-real-secret" not in db.safe_dsn

    assert not (tmp_path / "unused").exists(), "no embedded server when a DSN is given"
