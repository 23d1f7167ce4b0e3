from __future__ import annotations

import pytest
from aiohttp import web

from daemon.clock import FakeClock
from daemon.errors import AuthError
from daemon.http import HttpClient
from tests.daemon.http.conftest import Upstream, json_answer


class RefreshingAuth:
    def __init__(self, token: str, refreshed: str | None) -> None:
        self.token = token
        self.refreshed = refreshed
        self.refreshes = 0

    async def apply(self, headers: dict[str, str], params: dict[str, str]) -> None:
        headers["Authorization"] = f"Bearer {self.token}"

    async def on_unauthorized(self) -> bool:
        self.refreshes += 1
        if self.refreshed is None:
            return False
        self.token = self.refreshed
        return True


async def _answer_by_token(request: web.Request) -> web.StreamResponse:
    if request.headers.get("Authorization") == "Bearer fresh-token-2":
        return web.json_response({"ok": True}, status=201 if request.method == "POST" else 200)
    return web.json_response({"error": "invalid_token"}, status=401)


async def test_401_refreshes_and_retries_once(upstream: Upstream, clock: FakeClock) -> None:
    upstream.script("/me", _answer_by_token)
    auth = RefreshingAuth("stale-token-1", "fresh-token-2")
    async with HttpClient("ffn", upstream.url, auth=auth, clock=clock) as client:
        assert await client.get_json("/me") == {"ok": True}
    assert auth.refreshes == 1
    assert [s.headers["Authorization"] for s in upstream.requests_to("/me")] == [
        "Bearer stale-token-1",
        "Bearer fresh-token-2",
    ]
    assert clock.slept == []


async def test_401_on_post_is_repeated_once_after_refresh(upstream: Upstream, clock: FakeClock) -> None:
    upstream.script("/orders", _answer_by_token)
    auth = RefreshingAuth("stale-token-1", "fresh-token-2")
    async with HttpClient("ffn", upstream.url, auth=auth, clock=clock) as client:
        response = await client.request("POST", "/orders", json={"n": 1})
    assert response.status == 201
    assert len(upstream.requests_to("/orders")) == 2


async def test_401_after_refresh_is_an_auth_error(upstream: Upstream, clock: FakeClock) -> None:
    upstream.script("/me", json_answer({"error": "invalid_token"}, 401))
    auth = RefreshingAuth("stale-token-1", "still-bad-token")
    async with HttpClient("ffn", upstream.url, auth=auth, clock=clock) as client:
        with pytest.raises(AuthError):
            await client.get_json("/me")
    assert auth.refreshes == 1
    assert len(upstream.requests_to("/me")) == 2


async def test_401_without_refresh_is_not_repeated(upstream: Upstream, clock: FakeClock) -> None:
    upstream.script("/me", json_answer({"error": "invalid_token"}, 401))
    auth = RefreshingAuth("stale-token-1", None)
    async with HttpClient("ffn", upstream.url, auth=auth, clock=clock) as client:
        with pytest.raises(AuthError):
            await client.get_json("/me")
    assert auth.refreshes == 1
    assert len(upstream.requests_to("/me")) == 1


async def test_static_auth_sends_credentials_and_does_not_leak_them(
    upstream: Upstream, clock: FakeClock
) -> None:
    from daemon.http import StaticAuth
    from daemon.secrets import Secret

    upstream.script("/p", json_answer([]))
    auth = StaticAuth(
        headers={"X-Shopify-Access-Token": Secret("shpat_abcdef123", "env:T")},
        params={"consumer_key": "ck_plain_9876"},
    )
    async with HttpClient("shop", upstream.url, auth=auth, clock=clock) as client:
        response = await client.request("GET", "/p")
    (seen,) = upstream.requests_to("/p")
    assert seen.headers["X-Shopify-Access-Token"] == "shpat_abcdef123"
    assert seen.raw_query == "consumer_key=ck_plain_9876"
    assert "ck_plain_9876" not in response.url
    assert "shpat" not in repr(auth) and "ck_plain" not in repr(auth)
