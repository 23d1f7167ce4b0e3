from __future__ import annotations

from datetime import UTC, datetime

from daemon.clock import FakeClock
from daemon.http import HttpClient, build_url, encode_query
from tests.daemon.http.conftest import Upstream, json_answer


async def test_plus_and_reserved_characters_are_percent_encoded(upstream: Upstream, clock: FakeClock) -> None:
    upstream.script("/orders", json_answer([]))
    since = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    async with HttpClient("shop", upstream.url, clock=clock) as client:
        await client.get_json(
            "/orders",
            params={
                "updated_at_min": "2026-01-02T03:04:05+01:00",
                "sku": "A&B=C D",
                "paid": True,
                "draft": False,
                "skip": None,
                "ids": [1, 2],
                "since": since,
            },
        )
    (seen,) = upstream.requests_to("/orders")
    assert seen.raw_query == (
        "updated_at_min=2026-01-02T03%3A04%3A05%2B01%3A00&sku=A%26B%3DC%20D&paid=true&draft=false"
        "&ids=1&ids=2&since=2026-01-02T03%3A04%3A05%2B00%3A00"
    )


async def test_absolute_next_link_is_sent_as_given(upstream: Upstream, clock: FakeClock) -> None:
    upstream.script("/v1/merchant/outbounds/updates", json_answer({"data": []}))
    next_url = (
        f"{upstream.url}/v1/merchant/outbounds/updates?fromDate=2026-01-01T00%3A00%3A00%2B00%3A00&chunk=2"
    )
    async with HttpClient("ffn", f"{upstream.url}/api", clock=clock) as client:
        await client.get_json(next_url)
    (seen,) = upstream.requests_to("/v1/merchant/outbounds/updates")
    assert seen.raw_query == "fromDate=2026-01-01T00%3A00%3A00%2B00%3A00&chunk=2"


async def test_relative_paths_join_the_base_path(upstream: Upstream, clock: FakeClock) -> None:
    upstream.script("/wp-json/wc/v3/products/batch", json_answer({}))
    async with HttpClient("woo", f"{upstream.url}/wp-json/wc/v3/", clock=clock) as client:
        await client.request("POST", "products/batch", json={"update": []})
    assert len(upstream.requests_to("/wp-json/wc/v3/products/batch")) == 1


def test_build_url() -> None:
    assert build_url("https://h/api/", "/x", {"a": "1+1"}) == "https://h/api/x?a=1%2B1"
    assert build_url("https://h/api", "x?b=2", {"a": 1}) == "https://h/api/x?b=2&a=1"
    assert build_url("https://h/api", "items/sku 1%2F2") == "https://h/api/items/sku%201%2F2"
    assert build_url("https://h/api", "https://other/p?q=%2B", {"n": 1}) == "https://other/p?q=%2B&n=1"
    assert build_url("https://h/api", "", None) == "https://h/api"


def test_encode_query_merges_parameter_sets() -> None:
    assert encode_query({"a": "x/y"}, None, {"b": "ü"}) == "a=x%2Fy&b=%C3%BC"
