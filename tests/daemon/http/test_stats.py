from __future__ import annotations

from aiohttp import web

from daemon.clock import FakeClock
from daemon.http import CallRecord, HttpClient
from tests.daemon.http.conftest import Upstream


async def test_calls_are_counted_and_hooks_see_each_attempt(upstream: Upstream, clock: FakeClock) -> None:
    upstream.script("/x", web.Response(status=500), web.json_response({}))
    seen: list[CallRecord] = []

    def broken_hook(record: CallRecord) -> None:
        raise RuntimeError("metrics backend down")

    async with HttpClient("ffn", upstream.url, clock=clock) as client:
        client.stats.on_call.extend([seen.append, broken_hook])
        await client.get_json("/x")
    assert dict(client.stats.calls) == {("GET", 500): 1, ("GET", 200): 1}
    assert client.stats.total_calls == 2
    assert client.stats.retries == 1
    assert [(r.upstream, r.method, r.status, r.attempt) for r in seen] == [
        ("ffn", "GET", 500, 1),
        ("ffn", "GET", 200, 2),
    ]
