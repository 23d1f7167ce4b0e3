"""Every client's session runs over one shared connection pool; each client keeps its own credentials."""

from __future__ import annotations

from aiohttp import web

from daemon.clock import FakeClock
from daemon.errors import ChannelFatalError
from daemon.http import HttpClient, StaticAuth
from daemon.http import connector as shared_connector
from tests.daemon.http.conftest import Upstream


def _answer_with_peer(ports: list[int]) -> object:
    async def answer(request: web.Request) -> web.StreamResponse:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        ports.append(peer[1] if peer else -1)
        return web.json_response({"auth": request.headers.get("Authorization")})

    return answer


def _merchant_client(upstream: Upstream, clock: FakeClock, token: str) -> HttpClient:
    return HttpClient(
        "shop", upstream.url, auth=StaticAuth(headers={"Authorization": f"Bearer {token}"}), clock=clock
    )


async def test_two_merchants_share_one_connection_and_keep_their_own_credentials(
    upstream: Upstream, clock: FakeClock
) -> None:
    ports: list[int] = []
    upstream.script("/v1/items", _answer_with_peer(ports))  # type: ignore[arg-type]
    first, second = _merchant_client(upstream, clock, "alpha"), _merchant_client(upstream, clock, "beta")
    try:
        assert await first.get_json("/v1/items") == {"auth": "Bearer alpha"}
        assert await second.get_json("/v1/items") == {"auth": "Bearer beta"}
        assert await first.get_json("/v1/items") == {"auth": "Bearer alpha"}
        # One kept-alive connection carried all three requests: no pool (and no connection) per client.
        assert len(set(ports)) == 1, ports
        assert shared_connector.holders() == 2
    finally:
        await first.aclose()
        await second.aclose()
    assert shared_connector.holders() == 0


async def test_closing_one_merchants_client_leaves_the_shared_pool_to_the_others(
    upstream: Upstream, clock: FakeClock
) -> None:
    ports: list[int] = []
    upstream.script("/v1/items", _answer_with_peer(ports))  # type: ignore[arg-type]
    replaced, staying = _merchant_client(upstream, clock, "old"), _merchant_client(upstream, clock, "stay")
    await replaced.get_json("/v1/items")
    await staying.get_json("/v1/items")
    pool = staying._connector
    assert pool is not None and pool is replaced._connector

    await replaced.aclose()  # a reload replaced this merchant's configuration

    assert not pool.closed
    assert await staying.get_json("/v1/items") == {"auth": "Bearer stay"}
    assert len(set(ports)) == 1, "the warm connection survived the other client's close"
    try:
        await replaced.get_json("/v1/items")
        raise AssertionError("a closed client must not send")
    except ChannelFatalError:
        pass

    await staying.aclose()  # the last holder: shutdown
    assert pool.closed
    assert shared_connector.holders() == 0


async def test_a_client_used_after_the_pool_closed_gets_a_fresh_one(
    upstream: Upstream, clock: FakeClock
) -> None:
    upstream.script("/v1/items", web.json_response({"ok": True}))
    first = _merchant_client(upstream, clock, "a")
    await first.get_json("/v1/items")
    old_pool = first._connector
    await first.aclose()
    assert old_pool is not None and old_pool.closed

    later = _merchant_client(upstream, clock, "b")  # e.g. built by a reload after the others closed
    try:
        assert await later.get_json("/v1/items") == {"ok": True}
        assert later._connector is not None and not later._connector.closed
    finally:
        await later.aclose()
