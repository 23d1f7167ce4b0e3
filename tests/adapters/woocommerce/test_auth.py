"""Authentication as ``WC_REST_Authentication`` does it, proven with WooCommerce's own Python client.

Over plain HTTP only OAuth 1.0a signatures count; Basic and query keys only where PHP's ``is_ssl()``
is true (the sandbox's ``https`` knob). The official client picks Basic for ``https://`` URLs; the
sandbox serves plain HTTP, so "HTTPS" is the knob plus the client's ``is_ssl`` flag.

What every shop adapter must do is tested once in tests/contracts; here is what is WooCommerce's own.
"""

from __future__ import annotations

import asyncio
import base64
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
import yarl
from woocommerce import API

from daemon.clock import SYSTEM_CLOCK, FakeClock
from daemon.errors import AuthError
from daemon.model import Window
from tests.adapters.woocommerce.conftest import ChannelFactory, ShopFactory, signed_url

BASIC = {"Authorization": "Basic " + base64.b64encode(b"ck_sandbox:cs_sandbox").decode()}


def _official(url: str, *, ssl: bool = False, query: bool = False, secret: str = "cs_sandbox") -> Any:
    api = API(url=url, consumer_key="ck_sandbox", consumer_secret=secret, version="wc/v3", timeout=10)
    api.is_ssl = ssl  # what an https:// URL would make it do; the sandbox speaks plain HTTP
    api.query_string_auth = query
    return api


async def _get(api: Any, endpoint: str) -> tuple[int, Any]:
    response = await asyncio.to_thread(api.get, endpoint)
    return response.status_code, response.json()


async def test_the_official_client_lists_orders_and_products_over_http_with_oauth1(
    make_shop: ShopFactory,
) -> None:
    shop = await make_shop(clock=SYSTEM_CLOCK)  # the client signs with the real time
    await shop.product("A-1", name="Anvil")
    await shop.order([("A-1", 2)])
    status, orders = await _get(_official(shop.url), "orders")
    assert status == 200 and [o["line_items"][0]["sku"] for o in orders] == ["A-1"]
    status, products = await _get(_official(shop.url), "products")
    assert status == 200 and [p["sku"] for p in products] == ["A-1"]
    sent = shop.requests()[-1]
    assert "oauth_signature=" in sent.query and "Authorization" not in sent.request_headers
    # Refused where WooCommerce refuses: Basic over plain HTTP is not even looked at.
    status, body = await _get(_official(shop.url, ssl=True), "orders")
    assert (status, body["code"]) == (401, "woocommerce_rest_cannot_view")
    status, body = await _get(_official(shop.url, ssl=True, query=True), "orders")
    assert (status, body["code"]) == (401, "woocommerce_rest_cannot_view")
    status, body = await _get(_official(shop.url, secret="cs_wrong"), "orders")
    assert (status, body["message"]) == (401, "Invalid signature - provided signature does not match.")


@pytest.mark.parametrize("query", [False, True])
async def test_the_official_client_uses_basic_or_query_keys_where_php_sees_https(
    make_shop: ShopFactory, query: bool
) -> None:
    shop = await make_shop(clock=SYSTEM_CLOCK, https="on")
    await shop.product("A-1")
    await shop.order([("A-1", 1)])
    for endpoint in ("orders", "products"):
        status, rows = await _get(_official(shop.url, ssl=True, query=query), endpoint)
        assert status == 200 and len(rows) == 1
    status, body = await _get(_official(shop.url, ssl=True, query=query, secret="cs_wrong"), "orders")
    assert (status, body["code"]) == (401, "woocommerce_rest_authentication_error")
    # OAuth 1.0a still works there, signed over the https:// URL WooCommerce rebuilds.
    status, _ = await _get(_official(shop.url), "orders")
    assert status == 401


async def test_behind_a_tls_proxy_basic_works_only_when_x_forwarded_proto_is_trusted(
    make_shop: ShopFactory,
) -> None:
    shop = await make_shop(https="forwarded")
    url = shop.url + "/wp-json/wc/v3/orders"
    async with aiohttp.ClientSession() as session:
        async with session.get(url, headers=BASIC) as plain:
            assert plain.status == 401
        async with session.get(url, headers={**BASIC, "X-Forwarded-Proto": "https"}) as forwarded:
            assert forwarded.status == 200


async def test_a_nonce_is_used_once_and_timestamps_are_checked(
    make_shop: ShopFactory, clock: FakeClock
) -> None:
    shop = await make_shop()
    url = yarl.URL(signed_url(shop.url + "/wp-json/wc/v3/orders", "GET", clock.now()), encoded=True)
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as first:
            assert first.status == 200
        async with session.get(url) as replay:
            assert (await replay.json())["message"] == "Invalid nonce - nonce has already been used."
        stale = signed_url(shop.url + "/wp-json/wc/v3/orders", "GET", clock.now() - timedelta(minutes=16))
        async with session.get(yarl.URL(stale, encoded=True)) as old:
            assert (await old.json())["message"] == "Invalid timestamp."


async def test_the_channel_signs_every_attempt_and_its_401_names_is_ssl(
    make_shop: ShopFactory, make_channel: ChannelFactory, clock: FakeClock
) -> None:
    shop = await make_shop(html_error_share=0.0)
    await shop.product("A-1")
    await shop.order([("A-1", 1)])
    await shop.call("PUT", "/_sandbox/faults", {"rate": 0.5, "statuses": [503], "seed": 1})
    window = Window(clock.now() - timedelta(minutes=1), clock.now() + timedelta(hours=1))
    signed = make_channel(shop, page_size=1)  # http:// -> OAuth 1.0a; each retry needs a fresh nonce
    assert [o.number async for o in signed.changed_orders(window)]
    assert any(e.injected for e in shop.requests())
    await shop.call("PUT", "/_sandbox/faults", {"rate": 0.0})
    basic = make_channel(shop, auth="basic")
    with pytest.raises(AuthError) as refused:
        [o async for o in basic.changed_orders(window)]
    assert "is_ssl()" in refused.value.message and "X-Forwarded-Proto" in refused.value.message
