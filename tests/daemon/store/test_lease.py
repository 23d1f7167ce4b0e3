from collections.abc import AsyncIterator

import asyncpg
import pytest

from daemon.store import MerchantLease, create_pool, migrate


async def migrated(dsn: str) -> None:
    """Taking a lease frees work claims in the snapshot table, so the schema must exist."""
    pool = await create_pool(dsn)
    try:
        await migrate(pool)
    finally:
        await pool.close()


@pytest.fixture
async def leases(pg_dsn: str) -> AsyncIterator[tuple[MerchantLease, MerchantLease]]:
    await migrated(pg_dsn)
    first, second = await MerchantLease.connect(pg_dsn), await MerchantLease.connect(pg_dsn)
    yield first, second
    await first.close()
    await second.close()


async def test_each_merchant_has_exactly_one_owner(leases: tuple[MerchantLease, MerchantLease]) -> None:
    first, second = leases

    assert await first.acquire(["acme", "globex"]) == {"acme", "globex"}
    assert await second.acquire(["acme", "globex", "initech"]) == {"initech"}
    assert await first.acquire(["acme", "globex", "initech"]) == {"acme", "globex"}
    assert first.owned == {"acme", "globex"}
    assert second.owned == {"initech"}


async def test_reacquiring_does_not_stack_locks(leases: tuple[MerchantLease, MerchantLease]) -> None:
    first, second = leases
    for _ in range(3):
        await first.acquire(["acme"])

    await first.release(["acme"])

    assert await second.acquire(["acme"]) == {"acme"}


async def test_closed_owner_hands_merchants_over(leases: tuple[MerchantLease, MerchantLease]) -> None:
    first, second = leases
    await first.acquire(["acme", "globex"])

    await first.close()

    assert not first.is_alive()
    assert first.owned == frozenset()
    assert await second.acquire(["acme", "globex"]) == {"acme", "globex"}


async def test_released_merchant_can_be_taken(leases: tuple[MerchantLease, MerchantLease]) -> None:
    first, second = leases
    await first.acquire(["acme", "globex"])

    await first.release(["globex"])

    assert first.owned == {"acme"}
    assert await second.acquire(["acme", "globex"]) == {"globex"}


async def test_killed_connection_is_noticed_and_ownership_moves(
    pg_dsn: str, leases: tuple[MerchantLease, MerchantLease]
) -> None:
    first, second = leases
    await first.acquire(["acme"])
    admin = await asyncpg.connect(pg_dsn)
    try:
        # The owner is the only backend in this database holding advisory locks; the timeout
        # form waits until that backend has exited (and so released its locks).
        terminated = await admin.fetchval(
            "select bool_and(pg_terminate_backend(l.pid, 5000)) from pg_locks l "
            "join pg_database d on d.oid = l.database "
            "where l.locktype = 'advisory' and d.datname = current_database()"
        )
        assert terminated
    finally:
        await admin.close()

    assert await first.heartbeat() is False
    assert not first.is_alive()
    assert first.owned == frozenset()
    with pytest.raises(ConnectionError):
        await first.acquire(["acme"])
    assert await second.acquire(["acme"]) == {"acme"}
