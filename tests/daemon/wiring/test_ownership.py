from daemon.wiring.ownership import Ownership
from tests.daemon.store.test_lease import migrated


async def test_one_instance_owns_a_merchant_and_another_takes_over_when_it_stops(pg_dsn: str) -> None:
    await migrated(pg_dsn)
    # Not balanced (once, resync): each takes whatever of its merchants is free.
    first, second = Ownership(pg_dsn, ["acme"]), Ownership(pg_dsn, ["acme", "globex"])
    try:
        assert await first.owns("acme")
        assert not await second.owns("acme")
        assert await second.owns("globex")  # merchants are independent
        assert await first.owns("acme")  # still ours on the next cycle
        await first.aclose()  # the owner stops (or its connection dies)
        await second.renew()  # the renewal loop's next turn takes what became free
        assert await second.owns("acme")
        assert not await first.owns("acme")
    finally:
        await first.aclose()
        await second.aclose()
