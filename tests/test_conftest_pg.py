import asyncpg


async def test_fresh_database_is_real_postgres(pg_dsn: str) -> None:
    conn = await asyncpg.connect(pg_dsn)
    try:
        version = await conn.fetchval("show server_version_num")
        tables = await conn.fetchval("select count(*) from pg_tables where schemaname = 'public'")
    finally:
        await conn.close()
    assert int(version) >= 150000
    assert tables == 0
