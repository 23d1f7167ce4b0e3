"""Several instances on one Postgres: fair shares, orderly hand-over, take-over, the frozen-owner bound.

Instances are ``Ownership`` objects in this process, each with its own registration (token) and lease
connection; their renewal loop is driven by the test (``renew()``), their monotonic clock is the test's.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web

from daemon.cli import main
from daemon.clock import FakeClock
from daemon.fence import check_fence
from daemon.http import HttpClient
from daemon.store.instances import Registration, instance_rows, owner_rows
from daemon.store.lease import MerchantLease
from daemon.wiring.ownership import Ownership
from daemon.wiring.takeovers import TakeOvers
from tests.daemon.store.test_lease import migrated

MERCHANTS = [f"m{i:02d}" for i in range(10)]


class HeldClock(FakeClock):
    """Monotonic time moves only when the test says; the renewal loop's sleep never ends by itself."""

    async def sleep(self, seconds: float) -> None:
        await asyncio.Event().wait()


def registration(name: str) -> Registration:
    return Registration(
        instance_id=f"host-{name}:100:{name}tok", token=f"{name}tok", host=f"host-{name}", pid=100,
        version="test", schema_version=8,
    )  # fmt: skip


@pytest.fixture
async def fleet(pg_dsn: str) -> AsyncIterator[Callable[..., Ownership]]:
    await migrated(pg_dsn)
    made: list[Ownership] = []

    def instance(
        name: str,
        *,
        merchants: list[str] = MERCHANTS,
        timeout_s: float = 30.0,
        clock: FakeClock | None = None,
        take_overs: TakeOvers | None = None,
    ) -> Ownership:
        ownership = Ownership(
            pg_dsn, merchants, balanced=True, lease_timeout_s=timeout_s, clock=clock or HeldClock(),
            me=registration(name), take_overs=take_overs,
        )  # fmt: skip
        made.append(ownership)
        return ownership

    yield instance
    for ownership in made:
        await ownership.aclose()


async def settle(*instances: Ownership, rounds: int = 3) -> None:
    for _ in range(rounds):
        for instance in instances:
            await instance.renew()
            await instance.handed_over()


def assert_shared(instances: list[Ownership], merchants: list[str]) -> None:
    owned = [instance.owned for instance in instances]
    share = math.ceil(len(merchants) / len(instances))
    assert all(len(o) <= share for o in owned), [len(o) for o in owned]
    assert sum(len(o) for o in owned) == len(merchants)  # disjoint and complete
    assert frozenset().union(*owned) == set(merchants)


async def test_a_newcomer_gets_its_share_and_three_instances_balance(fleet: Callable[..., Ownership]) -> None:
    first = fleet("a")
    await first.renew()
    assert first.owned == set(MERCHANTS)  # alone: everything

    second = fleet("b")
    await settle(second, first)
    assert_shared([first, second], MERCHANTS)
    assert len(first.owned) == len(second.owned) == 5

    third = fleet("c")
    await settle(third, first, second)
    assert_shared([first, second, third], MERCHANTS)
    assert sorted(len(i.owned) for i in (first, second, third)) == [2, 4, 4]


async def test_gate_lets_only_the_owner_run_and_stands_by_beyond_the_share(
    fleet: Callable[..., Ownership],
) -> None:
    first, second = fleet("a"), fleet("b")
    await settle(first, second)
    ran: list[tuple[str, str]] = []

    for instance, name in ((first, "a"), (second, "b")):
        for merchant in MERCHANTS:

            async def cycle(merchant: str = merchant, name: str = name) -> None:
                ran.append((merchant, name))

            await instance.run_if_owned(merchant, cycle)

    runners: dict[str, list[str]] = {}
    for merchant, name in ran:
        runners.setdefault(merchant, []).append(name)
    assert sorted(runners) == MERCHANTS
    assert all(len(names) == 1 for names in runners.values())  # one writer per merchant


async def test_hand_over_waits_for_the_running_cycle(fleet: Callable[..., Ownership]) -> None:
    merchants = ["acme", "globex"]
    first = fleet("a", merchants=merchants)
    await first.renew()
    assert first.owned == {"acme", "globex"}
    started = {m: asyncio.Event() for m in merchants}
    finish = {m: asyncio.Event() for m in merchants}
    fence_held: list[str] = []

    async def cycle(merchant: str) -> None:
        started[merchant].set()
        await finish[merchant].wait()
        check_fence()  # still ours until the cycle ends: its last requests go out
        fence_held.append(merchant)

    cycles = [asyncio.create_task(first.run_if_owned(m, lambda m=m: cycle(m))) for m in merchants]  # type: ignore[misc]
    for event in started.values():
        await event.wait()

    second = fleet("b", merchants=merchants)
    await second.renew()
    await first.renew()  # sees two instances: one merchant too many, handed over after its cycle
    assert second.owned == set() and len(first.owned) == 2
    startable = [m for m in merchants if await first.owns(m)]
    assert len(startable) == 1  # the merchant being handed over starts no new cycle here
    handed = next(m for m in merchants if m not in startable)
    kept = next(m for m in merchants if m != handed)
    await second.renew()
    assert second.owned == set()  # still locked: its cycle runs

    finish[handed].set()
    await first.handed_over()
    await second.renew()
    assert second.owned == {handed}
    assert first.owned == {kept}
    finish[kept].set()
    await asyncio.gather(*cycles)
    assert sorted(fence_held) == sorted(merchants)


async def test_a_killed_instance_s_merchants_are_taken_over_at_the_next_renewal(
    fleet: Callable[..., Ownership],
) -> None:
    first, second, third = fleet("a"), fleet("b"), fleet("c")
    await settle(first, second, third)
    victims = first.owned
    assert victims

    # kill -9: the process and its sockets are gone; Postgres frees the locks with the connection.
    lease = first._lease
    assert lease is not None
    lease._conn.terminate()

    for _ in range(50):  # the server notices the closed socket within milliseconds
        await settle(second, third, rounds=1)
        if len(second.owned | third.owned) == len(MERCHANTS):
            break
        await asyncio.sleep(0.05)
    assert_shared([second, third], MERCHANTS)
    assert victims <= second.owned | third.owned


async def test_postgres_ends_a_frozen_owner_s_lease_after_its_timeout(pg_dsn: str) -> None:
    await migrated(pg_dsn)
    frozen = await MerchantLease.connect(pg_dsn, timeout_s=1.0)
    other = await MerchantLease.connect(pg_dsn, timeout_s=30.0)
    try:
        assert await frozen.acquire(["acme"]) == {"acme"}
        assert await other.acquire(["acme"]) == set()
        # The frozen owner sends nothing more; its connection stays open (nothing closes it client-side).
        taken: set[str] = set()
        for _ in range(50):
            await asyncio.sleep(0.1)
            taken = await other.acquire(["acme"])
            if taken:
                break
        assert taken == {"acme"}
    finally:
        await frozen.close()
        await other.close()


async def test_a_lease_not_renewed_in_time_is_invalid_while_its_connection_still_looks_fine(
    pg_dsn: str,
) -> None:
    await migrated(pg_dsn)
    clock = HeldClock()
    lease = await MerchantLease.connect(pg_dsn, timeout_s=10.0, clock=clock)
    try:
        await lease.acquire(["acme"])
        clock.advance(7.0)
        assert lease.is_valid()
        clock.advance(1.0)  # past 0.75 × timeout after the last round trip: Postgres may end it any moment
        assert lease.is_alive() and not lease.is_valid()
        assert await lease.heartbeat()
        assert lease.is_valid()
    finally:
        await lease.close()


@pytest.fixture
async def shop() -> AsyncIterator[tuple[str, list[str]]]:
    seen: list[str] = []

    async def record(request: web.Request) -> web.Response:
        seen.append(f"{request.method} {request.path}")
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", seen
    await runner.cleanup()


async def test_a_resumed_frozen_instance_sends_nothing_before_any_socket_tells_it(
    fleet: Callable[..., Ownership], shop: tuple[str, list[str]]
) -> None:
    base_url, seen = shop
    clock = HeldClock()
    frozen = fleet("a", merchants=["acme"], timeout_s=10.0, clock=clock)
    await frozen.renew()
    http = HttpClient("shop", base_url, max_attempts=1)
    resume, stopped = asyncio.Event(), asyncio.Event()

    async def cycle() -> None:
        await http.request("GET", "/before")
        stopped.set()
        await resume.wait()  # SIGSTOP lands here
        await http.request("POST", "/fulfillments", json={"order": 1})

    try:
        running = asyncio.create_task(frozen.run_if_owned("acme", cycle))
        await stopped.wait()
        # Stopped for 30 s: no renewal went out; on resumption the first thing the cycle does is its write,
        # before the event loop has read the lease socket.
        clock.advance(30.0)
        resume.set()
        await running  # the fence stopped the cycle; the job itself does not fail
    finally:
        await http.aclose()
    assert seen == ["GET /before"]


async def test_a_frozen_instance_loses_its_merchant_and_after_resuming_writes_nothing(
    fleet: Callable[..., Ownership], shop: tuple[str, list[str]]
) -> None:
    base_url, seen = shop
    clock = HeldClock()
    frozen = fleet("a", merchants=["acme"], timeout_s=1.0, clock=clock)
    peer = fleet("b", merchants=["acme"])
    await frozen.renew()
    await peer.renew()
    http = HttpClient("shop", base_url, max_attempts=1)
    resume, stopped = asyncio.Event(), asyncio.Event()
    cycles: list[str] = []

    async def cycle() -> None:
        await http.request("GET", "/before")
        stopped.set()
        await resume.wait()  # SIGSTOP lands here
        await http.request("POST", "/fulfillments", json={"order": 1})

    async def another() -> None:
        cycles.append("ran")

    try:
        running = asyncio.create_task(frozen.run_if_owned("acme", cycle))
        await stopped.wait()
        for _ in range(50):  # Postgres ends the silent lease connection after 1 s; the peer takes over
            await asyncio.sleep(0.1)
            clock.advance(0.1)
            await peer.renew()
            if peer.owned:
                break
        assert peer.owned == {"acme"}
        resume.set()
        await running
        await frozen.run_if_owned("acme", another)  # resumed: its renewal loop has not run yet
        await frozen.renew()
        await frozen.run_if_owned("acme", another)
    finally:
        await http.aclose()
    assert seen == ["GET /before"]
    assert cycles == []
    assert frozen.owned == frozenset()


async def test_status_rows_name_the_owner_of_each_merchant(
    fleet: Callable[..., Ownership], pg_dsn: str
) -> None:
    first, second = fleet("a"), fleet("b")
    await settle(first, second)
    pool = await asyncpg.create_pool(pg_dsn)
    try:
        owners = {row.merchant_id: row for row in await owner_rows(pool)}
        instances = {row.instance_id: row for row in await instance_rows(pool)}
    finally:
        await pool.close()
    assert sorted(owners) == MERCHANTS
    for merchant in first.owned:
        assert owners[merchant].host == "host-a" and owners[merchant].alive
    for merchant in second.owned:
        assert owners[merchant].instance_id == "host-b:100:btok"
    assert sorted(instances) == ["host-a:100:atok", "host-b:100:btok"]
    assert all(row.alive and row.merchants == len(MERCHANTS) for row in instances.values())


async def test_status_shows_the_instances_alive_and_the_owner_of_each_merchant(
    fleet: Callable[..., Ownership],
    pg_dsn: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.daemon.test_cli import SECRETS, merchant_toml

    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("FFN_SYNC_TEST_DSN", pg_dsn)
    (tmp_path / "acme.toml").write_text(merchant_toml(tmp_path / "state"))
    first, second = fleet("a", merchants=["acme", "globex"]), fleet("b", merchants=["acme", "globex"])
    await settle(first, second)
    gone = fleet("c", merchants=["acme", "globex"])
    await gone.renew()
    await gone.aclose()  # stopped: its row is gone, the others rebalance

    await asyncio.to_thread(main, ["status", "--config", str(tmp_path)])

    out = capsys.readouterr().out
    instances = out[out.index("INSTANCES") :].splitlines()
    assert instances[0] == "INSTANCES (2 alive)"
    assert instances[1].split() == [
        "INSTANCE", "HOST", "PID", "VERSION", "SCHEMA", "OWNS", "STARTED", "HEARTBEAT", "STATE",
    ]  # fmt: skip
    assert instances[2].split()[:6] == ["host-a:100:atok", "host-a", "100", "test", "8", "1/2"]
    assert instances[2].split()[-1] == "alive"
    owners = out[out.index("OWNERS") :].splitlines()
    assert owners[1].split() == ["MERCHANT", "OWNER", "HOST", "PID", "SINCE"]
    by_merchant = {line.split()[0]: line.split()[1:4] for line in owners[2:]}
    assert {by_merchant["acme"][1], by_merchant["globex"][1]} == {"host-a", "host-b"}
    assert by_merchant["acme"][0] in {"host-a:100:atok", "host-b:100:btok"}


@pytest.mark.parametrize(("interval", "timeout"), [(4.0, 5.0), (10.0, 5.0), (60.0, 30.0), (300.0, 60.0)])
def test_the_lease_timeout_keeps_a_frozen_instance_s_merchants_within_two_intervals(
    interval: float, timeout: float
) -> None:
    from daemon.scheduler import MAX_JITTER_S
    from daemon.wiring.ownership import RENEWALS_PER_TIMEOUT, lease_timeout_for

    assert lease_timeout_for(interval) == timeout
    if interval >= 10:  # below that the 5 s floor (against event-loop stalls) wins
        # Postgres frees the lease, a peer renews, then the flow's next run on its grid (with jitter).
        worst = timeout + timeout / RENEWALS_PER_TIMEOUT + interval + min(MAX_JITTER_S, interval * 0.1)
        assert worst <= 2 * interval


async def test_a_reload_keeps_this_instance_s_share_from_its_peers(fleet: Callable[..., Ownership]) -> None:
    old, peer = fleet("a"), fleet("b")
    await settle(old, peer)
    mine, theirs = old.owned, peer.owned

    new = fleet("a")  # the reload's runtime: same process, same registration, a new lease connection
    await new.start()
    await old.aclose()  # the old runtime is retired after its cycles drained
    await peer.renew()  # two instances still alive: the peer is at its share and leaves them be
    await new.renew()

    assert peer.owned == theirs
    assert new.owned == mine


async def test_only_the_renewal_takes_merchants_so_cycles_cost_no_round_trip(
    fleet: Callable[..., Ownership],
) -> None:
    first, second = fleet("a"), fleet("b")
    await first.start()
    await second.start()  # registered, but everything is held
    await first.renew()
    await first.handed_over()
    released = sorted(set(MERCHANTS) - first.owned)
    assert len(released) == 5

    # Hundreds of cycles a minute ask the gate; it answers from memory and takes nothing itself.
    assert [await second.owns(m) for m in released] == [False] * 5
    assert second.owned == frozenset()

    await second.renew()
    assert [await second.owns(m) for m in released] == [True] * 5


async def test_a_hung_renewal_is_abandoned_and_the_next_one_starts_afresh(
    fleet: Callable[..., Ownership], monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = fleet("a", timeout_s=0.5)
    await instance.start()
    first_lease = instance._lease
    assert first_lease is not None and instance.owned == set(MERCHANTS)

    from daemon.store import instances as registry

    real_renew = registry.renew

    async def hangs(*args: object, **kwargs: object) -> int:
        await asyncio.Event().wait()  # e.g. the driver waits for an answer that never comes
        return 0

    monkeypatch.setattr(registry, "renew", hangs)
    await instance.renew()  # returns after the lease timeout instead of never
    assert not first_lease.is_alive() and instance.owned == frozenset()

    monkeypatch.setattr(registry, "renew", real_renew)
    await instance.renew()
    assert instance._lease is not first_lease
    assert instance.owned == set(MERCHANTS)
