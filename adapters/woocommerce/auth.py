"""WooCommerce API keys, sent the way ``WC_REST_Authentication`` accepts them.

WooCommerce reads the key pair from HTTP Basic or the ``consumer_key``/``consumer_secret`` query
only when PHP's ``is_ssl()`` is true; over plain HTTP it accepts nothing but a one-legged OAuth 1.0a
signature (parameters in the query string). So ``auto`` means Basic for ``https://`` and OAuth 1.0a
HMAC-SHA256 for ``http://``; ``basic``, ``query`` and ``oauth1`` force one form.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Literal
from urllib.parse import parse_qsl, quote, urlsplit

from daemon.clock import SYSTEM_CLOCK, Clock
from daemon.secrets import Secret, register

AuthMode = Literal["auto", "basic", "query", "oauth1"]
AUTH_MODES = ("auto", "basic", "query", "oauth1")


def resolve_mode(mode: AuthMode, base_url: str) -> Literal["basic", "query", "oauth1"]:
    if mode == "auto":
        return "basic" if urlsplit(base_url).scheme == "https" else "oauth1"
    return mode


class ConsumerKeyAuth:
    """Implements ``daemon.http.Auth``: Basic or query; WooCommerce keys do not expire, so a 401 is final."""

    def __init__(
        self, consumer_key: Secret, consumer_secret: Secret, mode: Literal["basic", "query"] = "basic"
    ) -> None:
        if mode not in ("basic", "query"):
            raise ValueError(f"WooCommerce auth must be 'basic' or 'query', got {mode!r}")
        self._key = consumer_key
        self._secret = consumer_secret
        self.mode = mode
        token = base64.b64encode(f"{consumer_key.reveal()}:{consumer_secret.reveal()}".encode()).decode()
        register(token)
        self._header = f"Basic {token}"

    def __repr__(self) -> str:
        return f"ConsumerKeyAuth(mode={self.mode!r}, key={self._key!r})"

    async def apply(self, headers: dict[str, str], params: dict[str, str]) -> None:
        if self.mode == "basic":
            headers["Authorization"] = self._header
        else:
            params["consumer_key"] = self._key.reveal()
            params["consumer_secret"] = self._secret.reveal()

    async def on_unauthorized(self) -> bool:
        return False


def _rawurlencode(value: str) -> str:
    return quote(value, safe="")


def signature_base(method: str, url: str, params: list[tuple[str, str]]) -> str:
    """What ``check_oauth_signature`` rebuilds: the parameters sorted by name, name and value encoded,
    each ``name=value`` encoded again, joined with ``%26``; the URL without its query, encoded."""
    joined = "%26".join(
        _rawurlencode(f"{_rawurlencode(key)}={_rawurlencode(value)}") for key, value in sorted(params)
    )
    return f"{method.upper()}&{_rawurlencode(url)}&{joined}"


class OAuth1Signer:
    """Implements ``daemon.http.RequestSigner``: a fresh nonce and HMAC-SHA256 signature per attempt
    (WooCommerce refuses a nonce seen in the last 15 minutes and a timestamp 15 minutes off)."""

    def __init__(self, consumer_key: Secret, consumer_secret: Secret, clock: Clock = SYSTEM_CLOCK) -> None:
        self._key = consumer_key
        self._secret = consumer_secret
        self._clock = clock
        self.mode = "oauth1"

    def __repr__(self) -> str:
        return f"OAuth1Signer(key={self._key!r})"

    def oauth_params(self, method: str, url: str, *, nonce: str | None = None) -> dict[str, str]:
        base, _, query = url.partition("?")
        oauth = {
            "oauth_consumer_key": self._key.reveal(),
            "oauth_nonce": nonce or secrets.token_hex(16),
            "oauth_signature_method": "HMAC-SHA256",
            "oauth_timestamp": str(int(self._clock.now().timestamp())),
        }
        # PHP signs $_GET as decoded; the request's own parameters count as much as the OAuth ones.
        signed = [*parse_qsl(query, keep_blank_values=True), *oauth.items()]
        digest = hmac.new(
            f"{self._secret.reveal()}&".encode(),
            signature_base(method, base, signed).encode(),
            hashlib.sha256,
        ).digest()
        oauth["oauth_signature"] = base64.b64encode(digest).decode()
        return oauth

    async def sign(self, method: str, url: str, headers: dict[str, str], params: dict[str, str]) -> None:
        params.update(self.oauth_params(method, url))

    async def on_unauthorized(self) -> bool:
        return False
