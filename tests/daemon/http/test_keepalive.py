"""A client keeps its connection between polls: an idle fleet polls each upstream about once a minute, and a
new connection per poll (a TCP handshake, in production a TLS one too) was the largest CPU cost of an
empty cycle after the request itself."""

from __future__ import annotations

import aiohttp.connector
import pytest
from aiohttp import web

from daemon.clock import FakeClock
from daemon.http.client import HttpClient
from tests.daemon.http.conftest import Upstream

POLL_INTERVAL_S = 60.0  # the production interval of the orders, stock and shipments flows


async def _peer(request: web.Request) -> web.Response:
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return web.json_response({"port": peer[1] if peer else None})


async def test_a_connection_outlives_the_poll_interval(
    upstream: Upstream, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # aiohttp ages idle connections on time.monotonic (aiohttp.connector.monotonic): move it a poll ahead.
    now = [1000.0]
    monkeypatch.setattr(aiohttp.connector, "monotonic", lambda: now[0])
    upstream.script("/peer", _peer)
    async with HttpClient("shop", upstream.url, clock=clock) as client:
        first = await client.get_json("/peer")
        now[0] += POLL_INTERVAL_S * 1.2  # the next poll: one interval plus the scheduler's jitter
        second = await client.get_json("/peer")
    assert first["port"] is not None
    assert second["port"] == first["port"]  # the same TCP connection (aiohttp's 15 s default: a new one)
