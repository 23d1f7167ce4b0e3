from __future__ import annotations

import pytest

from daemon.clock import FakeClock
from daemon.errors import SyncError
from daemon.http import HttpClient, Response, safe_headers, safe_url, scrub
from daemon.secrets import Secret
from tests.daemon.http.conftest import Upstream, json_answer

QUERY_TOKEN = "q-tok-9f8e7d6c5b4a"
HEADER_TOKEN = "h-tok-1a2b3c4d5e6f"


class LeakyAuth:
    """Puts one credential in the query and one in a header (as WooCommerce/FFN do)."""

    async def apply(self, headers: dict[str, str], params: dict[str, str]) -> None:
        headers["Authorization"] = f"Bearer {HEADER_TOKEN}"
        params["consumer_secret"] = QUERY_TOKEN

    async def on_unauthorized(self) -> bool:
        return False


async def test_tokens_in_url_and_header_never_reach_logs_or_errors(
    upstream: Upstream, clock: FakeClock, captured_logs: list[str]
) -> None:
    # The upstream echoes the credentials back in its error body, as some hosts' debug pages do.
    echo = f"<html>request ?consumer_secret={QUERY_TOKEN} Authorization: Bearer {HEADER_TOKEN}</html>"
    upstream.script("/wp-json/wc/v3/orders", json_answer({}, 503), json_answer({"echo": echo}, 500))
    upstream.script("/next", json_answer({"echo": echo}, 400))
    async with HttpClient("woo", upstream.url, auth=LeakyAuth(), clock=clock, max_attempts=3) as client:
        with pytest.raises(SyncError) as first:
            await client.get_json("/wp-json/wc/v3/orders", params={"access_token": QUERY_TOKEN, "page": 2})
        # an absolute next-page link carrying a token of its own
        with pytest.raises(SyncError) as second:
            await client.get_json(f"{upstream.url}/next?token={QUERY_TOKEN}&cursor=abc")

    sent = upstream.requests_to("/wp-json/wc/v3/orders")[0]
    assert QUERY_TOKEN in sent.raw_query and sent.headers["Authorization"] == f"Bearer {HEADER_TOKEN}"
    text = "\n".join(captured_logs) + str(first.value) + str(second.value) + repr(first.value)
    assert any(line.startswith("WARNING retry") for line in captured_logs)
    assert "access_token=***" in text
    assert QUERY_TOKEN not in text
    assert HEADER_TOKEN not in text


async def test_registered_secret_is_redacted_from_error_bodies(upstream: Upstream, clock: FakeClock) -> None:
    secret = Secret("very-private-password-42", "env:SHOP_PASSWORD")
    upstream.script("/x", json_answer({"detail": f"bad login for {secret.reveal()}"}, 422))
    async with HttpClient("shop", upstream.url, clock=clock) as client:
        with pytest.raises(SyncError) as caught:
            await client.get_json("/x")
    assert "very-private-password-42" not in str(caught.value)
    assert "***" in str(caught.value)


def test_safe_url_masks_credentials_by_name() -> None:
    url = "https://user:pw@shop.example/api?page=2&api_key=K1234&Signature=abc%2Bdef&limit=5"
    assert safe_url(url) == "https://***@shop.example/api?page=2&api_key=***&Signature=***&limit=5"


def test_safe_headers_masks_credentials_by_name() -> None:
    headers = {
        "Authorization": "Bearer abc",
        "X-Shopify-Access-Token": "shpat_1",
        "Accept": "application/json",
    }
    assert safe_headers(headers) == {
        "Authorization": "***",
        "X-Shopify-Access-Token": "***",
        "Accept": "application/json",
    }


def test_scrub_masks_pairs_and_bearer_tokens_in_free_text() -> None:
    text = 'failed: {"refresh_token=abc.def"} Authorization: Bearer eyJhbGciOi.x-y_z password=hunter2&x=1'
    cleaned = scrub(text)
    assert "abc.def" not in cleaned
    assert "eyJhbGciOi" not in cleaned
    assert "hunter2" not in cleaned
    assert "x=1" in cleaned


def test_scrub_masks_credentials_in_json_text() -> None:
    cleaned = scrub('{"access_token": "at-123456", "expires_in": 3600, "client_secret":"cs-99"}')
    assert cleaned == '{"access_token": "***", "expires_in": 3600, "client_secret":"***"}'


def test_a_response_masks_the_url_it_was_sent_to_when_read_and_in_its_repr() -> None:
    response = Response(
        200, {}, b"{}", f"https://shop/api?consumer_secret={QUERY_TOKEN}&page=2", mask_url=True
    )
    assert QUERY_TOKEN not in repr(response)
    assert response.url == "https://shop/api?consumer_secret=***&page=2"
    assert QUERY_TOKEN not in repr(response)
