"""Client ⇄ sandbox: host errors, credentials and what reaches the logs.

What every shop adapter must do is tested once in tests/contracts; here is what is WooCommerce's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
from loguru import logger

from adapters.woocommerce import WooCommerceChannel
from adapters.woocommerce.errors import decode, woocommerce_error_factory
from daemon.clock import FakeClock
from daemon.errors import AuthError, ConfigError, RecordError, RetryableError
from daemon.http import Response
from daemon.model import OrderRef, Shipment, ShipmentLine, ShopStock, Tracking, Window
from daemon.secrets import Secret
from tests.adapters.woocommerce.conftest import ChannelFactory, ShopFactory

HTML_503 = (
    b"<!DOCTYPE html>\n<html><head><title>503 Service Unavailable</title></head><body>busy</body></html>"
)


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="DEBUG")
    yield lines
    logger.remove(sink)


def test_html_error_pages_are_retryable_and_never_json() -> None:
    error = woocommerce_error_factory("woocommerce", 503, HTML_503, {"Content-Type": "text/html"})
    assert isinstance(error, RetryableError)
    waf = woocommerce_error_factory("woocommerce", 403, b"<html>challenge</html>", {})
    assert isinstance(waf, RetryableError)
    with pytest.raises(RetryableError, match="HTML page"):
        decode(
            Response(200, {"Content-Type": "text/html"}, HTML_503, "https://shop/wp-json/wc/v3/orders"),
            list,
            "GET orders",
        )
    body = b'{"code":"woocommerce_rest_cannot_edit","message":"Sorry.","data":{"status":403}}'
    denied = woocommerce_error_factory("woocommerce", 403, body, {})
    assert isinstance(denied, AuthError) and denied.vendor_code == "woocommerce_rest_cannot_edit"
    bad = woocommerce_error_factory(
        "woocommerce", 400, b'{"code":"rest_invalid_param","message":"x","data":{"status":400}}', {}
    )
    assert isinstance(bad, RecordError) and bad.vendor_code == "rest_invalid_param"


async def test_html_503_pages_are_retried(
    make_shop: ShopFactory, make_channel: ChannelFactory, clock: FakeClock
) -> None:
    shop = await make_shop(html_error_share=1.0)
    await shop.product("A-1")
    created = [(await shop.order([("A-1", 1)]))["id"] for _ in range(3)]
    await shop.call(
        "PUT", "/_sandbox/faults", {"rate": 0.5, "statuses": [503], "retry_after_s": 2, "seed": 3}
    )
    channel = make_channel(shop, page_size=1)
    window = Window(clock.now() - timedelta(minutes=1), clock.now() + timedelta(hours=1))
    orders = [o.order_id async for o in channel.changed_orders(window)]
    assert orders == [str(i) for i in created]
    injected = [e for e in shop.requests() if e.injected]
    assert injected and all(e.response_headers["Content-Type"].startswith("text/html") for e in injected)
    assert channel.http.stats.retries == len(injected)
    assert 2.0 in clock.slept  # Retry-After honoured


async def test_query_auth_keeps_the_secret_out_of_logs_and_errors(
    make_shop: ShopFactory, make_channel: ChannelFactory, clock: FakeClock, log_lines: list[str]
) -> None:
    key, secret = "ck_live_5f2a9c0d1e", "cs_live_8b7e6d5c4a"
    shop = await make_shop(consumer_key=key, consumer_secret=secret, html_error_share=1.0, https="on")
    await shop.product("A-1")
    await shop.order([("A-1", 1)])
    await shop.call("PUT", "/_sandbox/faults", {"rate": 0.5, "statuses": [503, 429], "seed": 3})
    channel = make_channel(
        shop, auth="query", consumer_key=Secret(key), consumer_secret=Secret(secret), page_size=1
    )
    window = Window(clock.now() - timedelta(minutes=1), clock.now() + timedelta(hours=1))
    assert len([o async for o in channel.changed_orders(window)]) == 1
    with pytest.raises(RecordError) as refused:
        await channel.apply_shipment(
            OrderRef("1", "1"), Shipment("S", "OB", "N", (ShipmentLine(quantity=1),), (Tracking("1"),))
        )
    await shop.call("PUT", "/_sandbox/faults", {"rate": 0.0})
    results = await channel.set_stock([ShopStock("A-1", 3), ShopStock("GONE", 1)])
    assert [r.ok for r in results] == [True, False]
    sent = [parse_qs(e.query) for e in shop.requests()]
    assert all(q.get("consumer_secret") == [secret] for q in sent)  # the query mode was really used
    assert any(e.injected for e in shop.requests()), "no fault was injected"
    retries = [line for line in log_lines if "retry" in line]
    assert retries, "the faults should have caused logged retries"
    text = "\n".join(
        [*log_lines, str(refused.value), repr(channel), repr(channel.http.auth), *map(str, results)]
    )
    assert key not in text and secret not in text


async def test_basic_auth_header_and_rejected_credentials(
    make_shop: ShopFactory, make_channel: ChannelFactory, clock: FakeClock
) -> None:
    shop = await make_shop(https="on")
    window = Window(clock.now() - timedelta(minutes=1), clock.now())
    good = make_channel(shop, auth="basic")
    assert [o async for o in good.changed_orders(window)] == []
    assert shop.requests()[-1].request_headers["Authorization"].startswith("Basic ")
    assert "consumer_key" not in shop.requests()[-1].query
    wrong = make_channel(shop, auth="basic", consumer_secret=Secret("cs_wrong_value"))
    with pytest.raises(AuthError, match="Consumer secret is invalid"):
        [o async for o in wrong.changed_orders(window)]


def test_secrets_never_cross_plain_http_except_on_loopback() -> None:
    with pytest.raises(ConfigError, match="https"):
        WooCommerceChannel(
            "http://shop.example", consumer_key=Secret("ck_x1"), consumer_secret=Secret("cs_x1"), auth="basic"
        )
    signed = WooCommerceChannel(
        "http://shop.example", consumer_key=Secret("ck_x1"), consumer_secret=Secret("cs_x1")
    )
    assert signed.http.auth is not None and "OAuth1" in repr(signed.http.auth)
    with pytest.raises(ConfigError, match="page_size"):
        WooCommerceChannel(
            "https://shop.example",
            consumer_key=Secret("ck_x1"),
            consumer_secret=Secret("cs_x1"),
            page_size=500,
        )
