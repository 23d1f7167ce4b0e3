from collections.abc import AsyncIterator

import asyncpg
import pytest

from daemon.store import MerchantLease


@pytest.fixture
async def leases(pg_dsn: str) -> AsyncIterator[tuple[MerchantLease, MerchantLease]]:
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
        await admin.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'ffn-sync lease' "
            "and pid <> $1 and pid = any(select pid from pg_locks where locktype = 'advisory')",
            0,
        )
    finally:
        await admin.close()

    assert await first.heartbeat() is False
    assert not first.is_alive()
    assert first.owned == frozenset()
    with pytest.raises(ConnectionError):
        await first.acquire(["acme"])
    assert await second.acquire(["acme"]) == {"acme"}
