"""The OAuth2 server (authorization code + refresh token grants) and the bearer check on ``/api/``.

As documented in the spec's info.description: Basic client authentication on ``/token``, form bodies,
``{token_type, expires_in, access_token, refresh_token}`` answers, and refresh tokens that are valid
for a single refresh only. Like common OAuth2 servers, a refresh also revokes the access token it
replaced. Error bodies follow RFC 6749 §5.2 (the spec documents none).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlencode

import orjson
from aiohttp import web

from sandboxes.ffn.world import Knobs

CLIENT_ID = "sandbox"
CLIENT_SECRET = "sandbox-secret"
AUTH_CODE = "sandbox-code"


@dataclass
class OAuthServer:
    knobs: Knobs
    access_tokens: dict[str, datetime] = field(default_factory=dict)  # token -> expiry
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # live refresh token -> its access token
    used_refresh_tokens: set[str] = field(default_factory=set)
    refreshes: int = 0

    def issue(self) -> dict[str, object]:
        access = "sbx-at-" + secrets.token_urlsafe(18)
        refresh = "sbx-rt-" + secrets.token_urlsafe(24)
        ttl = self.knobs.access_token_ttl_s
        self.access_tokens[access] = self.knobs.clock.now() + timedelta(seconds=ttl)
        self.refresh_tokens[refresh] = access
        return {
            "token_type": "Bearer",
            "expires_in": int(ttl),
            "access_token": access,
            "refresh_token": refresh,
        }

    def valid(self, access: str) -> bool:
        expiry = self.access_tokens.get(access)
        return expiry is not None and self.knobs.clock.now() < expiry

    def expire_all_access_tokens(self) -> None:
        self.access_tokens.clear()


def _oauth_error(status: int, error: str, description: str) -> web.Response:
    body = {"error": error, "error_description": description, "message": description}
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


def _client_ok(request: web.Request) -> bool:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return False
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return user == CLIENT_ID and password == CLIENT_SECRET


def token_handler(server: OAuthServer) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        if not _client_ok(request):
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
            return web.Response(body=orjson.dumps(server.issue()), content_type="application/json")
        if grant == "refresh_token":
            token = str(form.get("refresh_token") or "")
            if token not in server.refresh_tokens:
                reason = "has already been used" if token in server.used_refresh_tokens else "is invalid"
                if server.knobs.refused_refresh == "invalid_request":
                    return _oauth_error(401, "invalid_request", f"The refresh token {reason}")
                return _oauth_error(400, "invalid_grant", f"The refresh token {reason}")
            old_access = server.refresh_tokens.pop(token)
            server.used_refresh_tokens.add(token)
            server.access_tokens.pop(old_access, None)
            server.refreshes += 1
            return web.Response(body=orjson.dumps(server.issue()), content_type="application/json")
        return _oauth_error(400, "unsupported_grant_type", f"grant_type {grant!r} is not supported")

    return handle


async def authorize(request: web.Request) -> web.Response:
    """The consent page: redirects straight back with the documented test code."""
    query = request.query
    if query.get("response_type") != "code" or query.get("client_id") != CLIENT_ID:
        return _oauth_error(400, "invalid_request", "response_type=code and client_id=sandbox are required")
    redirect_uri = query.get("redirect_uri")
    params = {"code": AUTH_CODE, **({"state": query["state"]} if "state" in query else {})}
    if not redirect_uri:
        return web.Response(text=f"Authorization code: {AUTH_CODE}\n")
    separator = "&" if "?" in redirect_uri else "?"
    raise web.HTTPFound(f"{redirect_uri}{separator}{urlencode(params)}")


def bearer_middleware(server: OAuthServer) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def check(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path.startswith("/api/"):
            header = request.headers.get("Authorization", "")
            if not (header.startswith("Bearer ") and server.valid(header[7:])):
                # The spec documents 401 without a body.
                return web.Response(status=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return await handler(request)

    return check
