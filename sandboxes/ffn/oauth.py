"""The OAuth2 server (authorization code + refresh token grants) and the bearer check on ``/api/``.

As documented in the spec's info.description: Basic client authentication on ``/token``, form bodies,
``{token_type, expires_in, access_token, refresh_token}`` answers, and refresh tokens that are valid
for a single refresh only. Like common OAuth2 servers, a refresh also revokes the access token it
replaced. Error bodies follow RFC 6749 §5.2 (the spec documents none).

Many merchants, one server: every OAuth client is bound to the merchant (FFN user) whose consent it holds,
and its tokens act for that merchant only. Access tokens are JWT-shaped like the spec's example
(``aud`` = client id, ``sub`` = the user, i.e. the 4-character merchant id, ``exp``, ``scopes``); the
server keeps its own table of them (a refresh revokes, the control API expires), and the merchant a request
acts for is read from that table, as the real FFN reads it from the token's subject. Refresh tokens are
bound to the client they were issued to.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlencode

import orjson
from aiohttp import web

from sandboxes.ffn.world import MERCHANT_ID, Knobs

CLIENT_ID = "sandbox"
CLIENT_SECRET = "sandbox-secret"
AUTH_CODE = "sandbox-code"
SCOPES = ("ffn.merchant.read", "ffn.merchant.write")
# merchantId/userId: 4 characters (spec examples MERC, FULF); they start outbound ids, so alphanumeric.
MERCHANT_ID_PATTERN = re.compile(r"^[A-Z0-9]{4}$")


@dataclass(frozen=True)
class Client:
    client_id: str
    secret: str
    merchant_id: str  # the FFN user whose consent this client holds


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class OAuthServer:
    knobs: Knobs
    clients: dict[str, Client] = field(
        default_factory=lambda: {CLIENT_ID: Client(CLIENT_ID, CLIENT_SECRET, MERCHANT_ID)}
    )
    access_tokens: dict[str, datetime] = field(default_factory=dict)  # token -> expiry
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # live refresh token -> its access token
    used_refresh_tokens: set[str] = field(default_factory=set)
    merchant_of_token: dict[str, str] = field(default_factory=dict)  # access or refresh token -> merchant
    client_of_refresh: dict[str, str] = field(default_factory=dict)  # live refresh token -> client id
    refreshes: int = 0

    def register(self, client: Client) -> None:
        known = self.clients.get(client.client_id)
        if known is not None and known.merchant_id != client.merchant_id:
            raise ValueError(
                f"client {client.client_id!r} already holds merchant {known.merchant_id}'s consent"
            )
        self.clients[client.client_id] = client

    def authenticate(self, client_id: str, secret: str) -> Client | None:
        client = self.clients.get(client_id)
        if client is None or not secrets.compare_digest(client.secret, secret):
            return None
        return client

    def issue(self, client: Client | None = None) -> dict[str, object]:
        client = client or self.clients[CLIENT_ID]
        now = self.knobs.clock.now()
        ttl = self.knobs.access_token_ttl_s
        claims = {
            "aud": client.client_id,
            "jti": secrets.token_hex(20),
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(now.timestamp() + ttl),
            "sub": client.merchant_id,
            "scopes": list(SCOPES),
        }
        header = _b64(b'{"typ":"JWT","alg":"RS256"}')
        access = f"{header}.{_b64(orjson.dumps(claims))}.{_b64(secrets.token_bytes(32))}"
        refresh = "def502" + secrets.token_hex(40)
        self.access_tokens[access] = now + timedelta(seconds=ttl)
        self.refresh_tokens[refresh] = access
        self.merchant_of_token[access] = self.merchant_of_token[refresh] = client.merchant_id
        self.client_of_refresh[refresh] = client.client_id
        return {
            "token_type": "Bearer",
            "expires_in": int(ttl),
            "access_token": access,
            "refresh_token": refresh,
        }

    def valid(self, access: str) -> bool:
        expiry = self.access_tokens.get(access)
        return expiry is not None and self.knobs.clock.now() < expiry

    def merchant(self, access: str) -> str | None:
        """The merchant a live access token acts for; None for an unknown, expired or revoked one."""
        return self.merchant_of_token.get(access) if self.valid(access) else None

    def expire_all_access_tokens(self) -> None:
        for token in self.access_tokens:
            self.merchant_of_token.pop(token, None)
        self.access_tokens.clear()

    def expire_access_tokens_of(self, merchant_id: str) -> None:
        gone = [t for t in self.access_tokens if self.merchant_of_token.get(t) == merchant_id]
        for token in gone:
            del self.access_tokens[token]
            del self.merchant_of_token[token]

    def refresh(self, client: Client, token: str) -> dict[str, object] | None:
        """A new pair for a live refresh token of ``client`` (single use); None if it is not one."""
        if token not in self.refresh_tokens or self.client_of_refresh.get(token) != client.client_id:
            return None
        old_access = self.refresh_tokens.pop(token)
        del self.client_of_refresh[token]
        self.merchant_of_token.pop(token, None)
        self.used_refresh_tokens.add(token)
        self.access_tokens.pop(old_access, None)
        self.merchant_of_token.pop(old_access, None)
        self.refreshes += 1
        return self.issue(client)


def _oauth_error(status: int, error: str, description: str) -> web.Response:
    body = {"error": error, "error_description": description, "message": description}
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


def _client(server: OAuthServer, request: web.Request) -> Client | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return server.authenticate(user, password)


def token_handler(server: OAuthServer) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        client = _client(server, request)
        if client is None:
            return _oauth_error(401, "invalid_client", "Client authentication failed")
        if request.content_type != "application/x-www-form-urlencoded":
            return _oauth_error(
                400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded"
            )
        form = await request.post()
        grant = form.get("grant_type")
        if grant == "authorization_code":
            if form.get("code") != AUTH_CODE:
                return _oauth_error(400, "invalid_grant", "The authorization code is invalid")
            if not form.get("redirect_uri"):
                return _oauth_error(400, "invalid_request", "redirect_uri is required")
            return web.Response(body=orjson.dumps(server.issue(client)), content_type="application/json")
        if grant == "refresh_token":
            token = str(form.get("refresh_token") or "")
            pair = server.refresh(client, token)
            if pair is None:
                reason = "has already been used" if token in server.used_refresh_tokens else "is invalid"
                if server.knobs.refused_refresh == "invalid_request":
                    return _oauth_error(401, "invalid_request", f"The refresh token {reason}")
                return _oauth_error(400, "invalid_grant", f"The refresh token {reason}")
            return web.Response(body=orjson.dumps(pair), content_type="application/json")
        return _oauth_error(400, "unsupported_grant_type", f"grant_type {grant!r} is not supported")

    return handle


def authorize_handler(server: OAuthServer) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def authorize(request: web.Request) -> web.Response:
        """The consent page: redirects straight back with the documented test code."""
        query = request.query
        if query.get("response_type") != "code" or query.get("client_id") not in server.clients:
            return _oauth_error(
                400, "invalid_request", "response_type=code and a registered client_id are required"
            )
        redirect_uri = query.get("redirect_uri")
        params = {"code": AUTH_CODE, **({"state": query["state"]} if "state" in query else {})}
        if not redirect_uri:
            return web.Response(text=f"Authorization code: {AUTH_CODE}\n")
        separator = "&" if "?" in redirect_uri else "?"
        raise web.HTTPFound(f"{redirect_uri}{separator}{urlencode(params)}")

    return authorize


def bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    return header[7:] if header.startswith("Bearer ") else ""


def bearer_middleware(server: OAuthServer, merchant_id: str) -> Callable[..., Awaitable[web.StreamResponse]]:
    """``/api/`` only with a live token of this app's merchant."""

    @web.middleware
    async def check(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path.startswith("/api/"):
            if server.merchant(bearer(request)) != merchant_id:
                # The spec documents 401 without a body.
                return web.Response(status=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return await handler(request)

    return check
