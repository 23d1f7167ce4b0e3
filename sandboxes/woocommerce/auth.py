"""``WC_REST_Authentication`` as WooCommerce runs it.

When PHP's ``is_ssl()`` is true the key pair is taken from the ``consumer_key``/``consumer_secret``
query parameters or from HTTP Basic; otherwise (and whenever those are absent) only a one-legged
OAuth 1.0a signature (HMAC-SHA1 or HMAC-SHA256, parameters in the query string or an ``OAuth``
header) authenticates. A request nothing authenticates reaches the controller as a visitor and gets
its ``woocommerce_rest_cannot_*`` 401. What ``is_ssl()`` answers is the ``https`` knob: ``off`` (plain
HTTP), ``on`` (TLS ends at PHP's own web server) or ``forwarded`` (a TLS-terminating proxy, with the
usual wp-config snippet that trusts ``X-Forwarded-Proto: https``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl, quote, unquote_plus

from aiohttp import web

from sandboxes.kit.tenants import mount
from sandboxes.woocommerce.responses import wc_error
from sandboxes.woocommerce.state import SETTINGS_KEY, STATE_KEY, Settings

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Namespace indexes are public in WordPress (clients probe them to discover extensions).
_PUBLIC = ("/wp-json/wc-shipment-tracking/v3",)
_OAUTH_REQUIRED = (
    "oauth_consumer_key",
    "oauth_timestamp",
    "oauth_nonce",
    "oauth_signature",
    "oauth_signature_method",
)
_NONCE_WINDOW_S = 15 * 60
_HEADER_PARAM = re.compile(r'(oauth_[a-z_-]*)=(?:"([^"]*)"|([^,]*))')
_BASIC_REALM = (
    'Basic realm="WooCommerce API. Use a consumer key in the username field and a consumer secret in '
    'the password field."'
)


class AuthFailure(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def is_ssl(request: web.Request, settings: Settings) -> bool:
    if settings.https == "on":
        return True
    if settings.https == "forwarded":
        return request.headers.get("X-Forwarded-Proto", "").lower() == "https"
    return False


def _rawurlencode(value: str) -> str:
    """PHP's ``rawurlencode``: everything but ``A-Za-z0-9-_.~``."""
    return quote(value, safe="")


def oauth_base_string(method: str, url: str, params: dict[str, str]) -> str:
    """The string WooCommerce signs: every parameter (bar the signature) sorted by name, each name and
    value encoded, then each ``name=value`` encoded once more and joined with ``%26``."""
    pairs = sorted((k, v) for k, v in params.items() if k != "oauth_signature")
    joined = "%26".join(_rawurlencode(f"{_rawurlencode(key)}={_rawurlencode(value)}") for key, value in pairs)
    return f"{method.upper()}&{_rawurlencode(url)}&{joined}"


def _basic_credentials(request: web.Request) -> tuple[str, str] | None:
    if request.query.get("consumer_key") and request.query.get("consumer_secret"):
        return request.query["consumer_key"], request.query["consumer_secret"]
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        key, _, secret = decoded.partition(":")
        if key and secret:
            return key, secret
    return None


def _oauth_params(request: web.Request) -> dict[str, str]:
    params = dict(parse_qsl(request.query_string, keep_blank_values=True))
    header = request.headers.get("Authorization", "").strip()
    if header.startswith("OAuth "):
        for name, quoted, bare in _HEADER_PARAM.findall(header):
            params[name] = unquote_plus(quoted or bare)
    return params


def _check_oauth(request: web.Request, settings: Settings, ssl: bool) -> bool:
    """True when a valid signature authenticates; False when no OAuth was attempted."""
    params = _oauth_params(request)
    present = [name for name in _OAUTH_REQUIRED if params.get(name)]
    if not present:
        return False
    missing = [name for name in _OAUTH_REQUIRED if not params.get(name)]
    if missing:
        noun = "parameter" if len(missing) == 1 else "parameters"
        raise AuthFailure(
            "woocommerce_rest_authentication_missing_parameter", f"Missing OAuth {noun} {', '.join(missing)}"
        )
    if params["oauth_consumer_key"] != settings.consumer_key:
        raise AuthFailure("woocommerce_rest_authentication_error", "Consumer key is invalid.")
    method = params["oauth_signature_method"]
    if method not in ("HMAC-SHA1", "HMAC-SHA256"):
        raise AuthFailure(
            "woocommerce_rest_authentication_error", "Invalid signature - signature method is invalid."
        )
    # Signed over the URL the client called: a shop in a subdirectory signs its full path.
    url = f"{'https' if ssl else 'http'}://{request.host}{mount(request)}{request.raw_path.split('?', 1)[0]}"
    digest = hashlib.sha1 if method == "HMAC-SHA1" else hashlib.sha256
    expected = base64.b64encode(
        hmac.new(
            f"{settings.consumer_secret}&".encode(),
            oauth_base_string(request.method, url, params).encode(),
            digest,
        ).digest()
    ).decode()
    given = params["oauth_signature"].replace(" ", "+")
    if not hmac.compare_digest(expected, given):
        raise AuthFailure(
            "woocommerce_rest_authentication_error", "Invalid signature - provided signature does not match."
        )
    _check_timestamp_and_nonce(request, params["oauth_timestamp"], params["oauth_nonce"])
    return True


def _check_timestamp_and_nonce(request: web.Request, raw_timestamp: str, nonce: str) -> None:
    state = request.app[STATE_KEY]
    now = int(state.clock.now().timestamp())
    try:
        timestamp = int(raw_timestamp)
    except ValueError:
        timestamp = 0
    if abs(timestamp - now) > _NONCE_WINDOW_S:
        raise AuthFailure("woocommerce_rest_authentication_error", "Invalid timestamp.")
    used = state.used_nonces
    for old, stamp in list(used.items()):
        if stamp < now - _NONCE_WINDOW_S:
            del used[old]
    if nonce in used:
        raise AuthFailure(
            "woocommerce_rest_authentication_error", "Invalid nonce - nonce has already been used."
        )
    used[nonce] = timestamp


def _refusal(method: str) -> web.Response:
    if method in ("GET", "HEAD"):
        return wc_error("woocommerce_rest_cannot_view", "Sorry, you cannot list resources.", 401)
    return wc_error("woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource.", 401)


@web.middleware
async def require_credentials(request: web.Request, handler: Handler) -> web.StreamResponse:
    path = request.path.rstrip("/")
    if not path.startswith("/wp-json/") or path in _PUBLIC:
        return await handler(request)
    settings = request.app[SETTINGS_KEY]
    ssl = is_ssl(request, settings)
    try:
        if ssl:
            credentials = _basic_credentials(request)
            if credentials is not None and credentials[0] == settings.consumer_key:
                if not hmac.compare_digest(credentials[1], settings.consumer_secret):
                    response = wc_error(
                        "woocommerce_rest_authentication_error", "Consumer secret is invalid.", 401
                    )
                    response.headers["WWW-Authenticate"] = _BASIC_REALM
                    return response
                return await handler(request)
        if _check_oauth(request, settings, ssl):
            return await handler(request)
    except AuthFailure as failure:
        return wc_error(failure.code, failure.message, 401)
    return _refusal(request.method)
