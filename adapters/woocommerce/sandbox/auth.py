"""Consumer key/secret over HTTP Basic, or as ``consumer_key``/``consumer_secret`` query parameters."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable

from aiohttp import web

from adapters.woocommerce.sandbox.responses import wc_error
from adapters.woocommerce.sandbox.state import SETTINGS_KEY

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Namespace indexes are public in WordPress (clients probe them to discover extensions).
_PUBLIC = ("/wp-json/wc-shipment-tracking/v3",)


def _credentials(request: web.Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        key, _, secret = decoded.partition(":")
        return key, secret
    if "consumer_key" in request.query:
        return request.query["consumer_key"], request.query.get("consumer_secret", "")
    return None


def _refusal(method: str) -> web.Response:
    if method == "GET":
        return wc_error("woocommerce_rest_cannot_view", "Sorry, you cannot list resources.", 401)
    return wc_error("woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource.", 401)


@web.middleware
async def require_credentials(request: web.Request, handler: Handler) -> web.StreamResponse:
    path = request.path.rstrip("/")
    if not path.startswith("/wp-json/") or path in _PUBLIC:
        return await handler(request)
    settings = request.app[SETTINGS_KEY]
    if _credentials(request) != (settings.consumer_key, settings.consumer_secret):
        return _refusal(request.method)
    return await handler(request)
