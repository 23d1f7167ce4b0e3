"""WooCommerce's error bodies (``{"code", "message", "data": {"status"}}``) to typed errors.

Hosts in front of WordPress answer throttling and outages with HTML pages (429/503, WAF challenges
as 403): those are retryable and never read as JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from daemon.errors import AuthError, RecordError, RetryableError, SyncError
from daemon.http import Response, default_error_factory
from daemon.http.redaction import body_snippet


def vendor_error(body: bytes) -> tuple[str | None, str | None]:
    """(code, message) of a WooCommerce error body; (None, None) when it is not one."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None, None
    if not isinstance(data, dict) or not isinstance(data.get("code"), str):
        return None, None
    message = data.get("message")
    return data["code"], message if isinstance(message, str) else None


def looks_like_html(body: bytes) -> bool:
    head = body.lstrip()[:64].lower()
    return head.startswith((b"<!doctype", b"<html", b"<head", b"<body", b"<?xml"))


def woocommerce_error_factory(
    upstream: str, status: int, body: bytes, headers: Mapping[str, str]
) -> SyncError:
    code, message = vendor_error(body)
    if status == 429 or status >= 500 or status == 408:
        return default_error_factory(upstream, status, body, headers)
    if status == 403 and code is None:
        return RetryableError(
            f"host refused the request with a non-API page (WAF or firewall?): {body_snippet(body)}",
            upstream=upstream,
            status=status,
        )
    text = f"{code}: {message}" if code else f"HTTP {status}: {body_snippet(body)}"
    if status in (401, 403):
        return AuthError(
            f"WooCommerce refused the API key ({text}); check the key and its read/write permission. "
            "WooCommerce reads keys from the Authorization header or the query only when PHP sees HTTPS (is_ssl()): behind a "
            "TLS-terminating proxy make WordPress trust X-Forwarded-Proto (wp-config.php: "
            "$_SERVER['HTTPS'] = 'on' when HTTP_X_FORWARDED_PROTO is https); auth = 'oauth1' does not help "
            "there, WooCommerce then checks the signature against the http:// address while we sign the "
            "https:// one. If the host strips the Authorization header use auth = 'query'",
            upstream=upstream,
            status=status,
            vendor_code=code,
        )
    return RecordError(text, upstream=upstream, status=status, vendor_code=code)


def decode(response: Response, expected: type, what: str) -> Any:
    """The JSON body, checked for its top-level type; HTML instead of JSON is retryable."""
    if looks_like_html(response.body):
        raise RetryableError(
            f"{what}: the host answered with an HTML page instead of JSON: {body_snippet(response.body)}",
            upstream="woocommerce",
            status=response.status,
        )
    data = response.json()
    if not isinstance(data, expected):
        raise RecordError(
            f"{what}: expected a JSON {expected.__name__}, got {type(data).__name__}",
            upstream="woocommerce",
            status=response.status,
        )
    return data
