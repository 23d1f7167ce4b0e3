from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import orjson
import pytest
from aiohttp import web

from daemon.clock import FakeClock
from daemon.errors import AuthError, RateLimited, RecordError, RetryableError, SyncError
from daemon.http import HttpClient, Response, default_error_factory, parse_retry_after
from tests.daemon.http.conftest import Upstream, json_answer


def vendor_factory(upstream: str, status: int, body: bytes, headers: Mapping[str, str]) -> SyncError:
    error = default_error_factory(upstream, status, body, headers)
    try:
        error.vendor_code = orjson.loads(body)["errors"][0]["code"]
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError):
        pass
    return error


async def test_400_is_not_retried_and_keeps_the_vendor_code(upstream: Upstream, clock: FakeClock) -> None:
    upstream.script(
        "/v1/merchant/products",
        json_answer({"errors": [{"code": "Products_SkuAlreadyExists", "message": "dup"}]}, 400),
    )
    async with HttpClient("ffn", upstream.url, clock=clock, error_factory=vendor_factory) as client:
        with pytest.raises(RecordError) as caught:
            await client.request("PUT", "/v1/merchant/products", json={"merchantSku": "A"})
    assert caught.value.vendor_code == "Products_SkuAlreadyExists"
    assert caught.value.status == 400
    assert caught.value.upstream == "ffn"
    assert "code=Products_SkuAlreadyExists" in str(caught.value)
    assert len(upstream.requests_to("/v1/merchant/products")) == 1
    assert clock.slept == []


async def test_a_retryable_vendor_code_is_retried(upstream: Upstream, clock: FakeClock) -> None:
    def locked_is_transient(upstream: str, status: int, body: bytes, headers: Mapping[str, str]) -> SyncError:
        if status == 423:
            return RetryableError("creation locked", upstream=upstream, status=status)
        return default_error_factory(upstream, status, body, headers)

    upstream.script("/lock", json_answer({}, 423), json_answer({"id": "x"}, 201))
    async with HttpClient("ffn", upstream.url, clock=clock, error_factory=locked_is_transient) as client:
        response = await client.request("POST", "/lock", json={}, idempotent=True)
    assert response.json() == {"id": "x"}


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (429, RateLimited),
        (408, RetryableError),
        (500, RetryableError),
        (503, RetryableError),
        (401, AuthError),
        (400, RecordError),
        (404, RecordError),
        (422, RecordError),
    ],
)
def test_default_error_factory_maps_status(status: int, error_type: type[SyncError]) -> None:
    error = default_error_factory("shop", status, b'{"message":"nope"}', {"retry-after": "4"})
    assert type(error) is error_type
    assert error.status == status
    assert "nope" in error.message
    if isinstance(error, RetryableError):
        assert error.retry_after == 4.0


def test_parse_retry_after() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("2", now) == 2.0
    assert parse_retry_after(" 1.5 ", now) == 1.5
    assert parse_retry_after("-3", now) == 0.0
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:10 GMT", now) == 10.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("", now) is None
    assert parse_retry_after(None, now) is None


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (502, RetryableError),
        (429, RetryableError),
        (200, RetryableError),
        (403, RetryableError),
        (404, RecordError),
    ],
)
def test_non_json_body_becomes_a_typed_error(status: int, error_type: type[SyncError]) -> None:
    page = b"<html><body><h1>Bad Gateway</h1>" + b"x" * 2000 + b"</body></html>"
    response = Response(status, {}, page, "https://shop.example/api", "shop")
    with pytest.raises(error_type) as caught:
        response.json()
    assert type(caught.value) is error_type
    assert "not JSON" in caught.value.message
    assert "Bad Gateway" in caught.value.message
    assert len(caught.value.message) < 400


def test_empty_body_is_none() -> None:
    assert Response(204, {}, b"", "u").json() is None


async def test_a_hosts_html_page_with_200_is_retried_later_not_parked(
    upstream: Upstream, clock: FakeClock
) -> None:
    # WAF challenge and maintenance pages come back as 200 HTML: the record must stay pending.
    upstream.script("/page", web.Response(text="<html>maintenance</html>", content_type="text/html"))
    async with HttpClient("shop", upstream.url, clock=clock) as client:
        with pytest.raises(RetryableError, match="not JSON"):
            await client.get_json("/page")


async def test_a_truncated_json_answer_is_retried_later(upstream: Upstream, clock: FakeClock) -> None:
    upstream.script(
        "/page", web.Response(body=b'{"orders": [{"id": 1}, {"id"', content_type="application/json")
    )
    async with HttpClient("shop", upstream.url, clock=clock) as client:
        with pytest.raises(RetryableError, match="not JSON"):
            await client.get_json("/page")


async def test_invalid_base_url_is_fatal_for_the_channel(clock: FakeClock) -> None:
    from daemon.errors import ChannelFatalError

    async with HttpClient("shop", "shop.example/api", clock=clock) as client:
        with pytest.raises(ChannelFatalError, match="invalid URL"):
            await client.get_json("/x")
    assert clock.slept == []
