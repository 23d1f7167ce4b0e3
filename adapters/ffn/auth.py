"""OAuth2 for FFN: bearer tokens from a durable store, rotated with single-use refresh tokens.

Rules (spec info.description, API notes §3):
- the refresh grant answers a NEW refresh token and spends the old one, so the new pair is written to
  the store before the new access token is used; a failed write keeps the pair in memory, unused,
  and retries the write first thing next time;
- one refresh at a time (asyncio.Lock); callers that queued behind it use its result;
- refresh ``PROACTIVE_REFRESH_S`` before expiry; after a 401 refresh once (unless the token that was
  refused has already been replaced) and let the HTTP core repeat the request;
- ``invalid_grant`` cannot be fixed by a machine: AuthError telling the operator to log in again.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

import aiohttp
import orjson
from loguru import logger

from adapters.ffn.errors import LOGIN_HINT
from daemon.clock import SYSTEM_CLOCK, Clock
from daemon.errors import AuthError, RetryableError, SyncError
from daemon.http import HttpClient
from daemon.oauth import TokenSet, TokenStore
from daemon.secrets import Secret, SecretSlot, register

PROACTIVE_REFRESH_S = 60.0
UPSTREAM = "ffn-oauth"

_Tokens = TypeVar("_Tokens", TokenSet, TokenSet | None)

# The access token the current task put on its request, so a 401 can tell whether it was stale.
_applied: contextvars.ContextVar[str | None] = contextvars.ContextVar("ffn_applied_token", default=None)


def basic_auth(client_id: str, client_secret: Secret) -> str:
    raw = f"{client_id}:{client_secret.reveal()}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def token_set_from(payload: Any, clock: Clock) -> TokenSet:
    """``{token_type, expires_in, access_token, refresh_token}`` -> TokenSet.

    The tokens are not registered for redaction here: whoever holds them does (``FfnAuth`` in its
    rotating slots, ``ffn-sync ffn-login`` for its short life)."""
    if not isinstance(payload, dict) or not payload.get("access_token") or not payload.get("refresh_token"):
        keys = sorted(payload) if isinstance(payload, dict) else type(payload).__name__
        raise AuthError(f"token endpoint answered without access_token/refresh_token (got {keys})")
    expires_in = float(payload.get("expires_in") or 1800)
    return TokenSet(
        access_token=str(payload["access_token"]),
        refresh_token=str(payload["refresh_token"]),
        expires_at=clock.now() + timedelta(seconds=expires_in),
    )


def oauth_error_factory(upstream: str, status: int, body: bytes, headers: Any) -> SyncError:
    """RFC 6749 §5.2 error bodies from the token endpoint."""
    try:
        data = orjson.loads(body) if body.strip() else {}
    except orjson.JSONDecodeError:
        data = {}
    code = data.get("error") if isinstance(data, dict) else None
    if status >= 500 or status in (408, 429):
        return RetryableError(f"token endpoint unavailable (HTTP {status})", upstream=upstream, status=status)
    if code == "invalid_client":
        return AuthError(
            "FFN rejected the OAuth client id/secret (invalid_client); check ffn.client_id and ffn.client_secret",
            upstream=upstream,
            status=status,
            vendor_code=code,
        )
    # Anything else (invalid_grant, and the 401 invalid_request a spent refresh token may get) means the
    # grant is gone: only a person logging in again helps, whatever the HTTP status.
    return AuthError(
        f"FFN refused the grant (HTTP {status}, error={code!r}: the refresh token or authorization code is "
        f"expired, revoked or already used); {LOGIN_HINT}",
        upstream=upstream,
        status=status,
        vendor_code=code or None,
    )


async def request_tokens(
    http: HttpClient, token_url: str, basic: str, form: dict[str, str], clock: Clock
) -> TokenSet:
    response = await http.request(
        "POST",
        token_url,
        data=urlencode(form).encode(),
        headers={"Authorization": basic, "Content-Type": "application/x-www-form-urlencoded"},
        idempotent=False,
        ok=(200,),
    )
    return token_set_from(response.json(), clock)


class FfnAuth:
    """``daemon.http.Auth`` for the FFN Merchant API."""

    def __init__(
        self,
        token_url: str,
        *,
        client_id: str,
        client_secret: Secret,
        store: TokenStore,
        clock: Clock = SYSTEM_CLOCK,
        session: aiohttp.ClientSession | None = None,
        refresh_margin_s: float = PROACTIVE_REFRESH_S,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self._basic = basic_auth(client_id, client_secret)
        register(self._basic.split(" ", 1)[1])
        self._store = store
        self._clock = clock
        self._margin = timedelta(seconds=refresh_margin_s)
        self._http = HttpClient(
            UPSTREAM,
            token_url,
            clock=clock,
            session=session,
            max_attempts=1,
            error_factory=oauth_error_factory,
        )
        self._lock = asyncio.Lock()
        # Each refresh replaces both tokens; the slots let the registry forget the spent ones.
        self._access_slot = SecretSlot("ffn access token")
        self._refresh_slot = SecretSlot("ffn refresh token")
        self._tokens: TokenSet | None = None
        self._unsaved: TokenSet | None = None
        self.refreshes = 0

    def __repr__(self) -> str:
        return f"FfnAuth(token_url={self.token_url!r}, client_id={self.client_id!r})"

    async def apply(self, headers: dict[str, str], params: dict[str, str]) -> None:
        token = await self.access_token()
        _applied.set(token)
        headers["Authorization"] = f"Bearer {token}"

    async def on_unauthorized(self) -> bool:
        await self._refresh(stale=_applied.get())
        return True

    async def access_token(self) -> str:
        tokens = self._tokens
        if tokens is None or self._unsaved is not None or self._expiring(tokens):
            async with self._lock:
                await self._ensure_current()
            tokens = self._tokens
        assert tokens is not None
        return tokens.access_token

    def _expiring(self, tokens: TokenSet) -> bool:
        return self._clock.now() >= tokens.expires_at - self._margin

    async def _ensure_current(self) -> None:
        """Under the lock: loaded, saved and not about to expire."""
        await self._flush_unsaved()
        if self._tokens is None:
            self._tokens = self._masked(await self._store.load())
            if self._tokens is None:
                raise AuthError(f"no FFN tokens stored yet; {LOGIN_HINT}", upstream="ffn")
        if self._expiring(self._tokens):
            await self._rotate(self._tokens)

    async def _refresh(self, stale: str | None) -> None:
        async with self._lock:
            await self._flush_unsaved()
            current = self._tokens
            if current is not None and stale is not None and current.access_token != stale:
                return  # someone already replaced the refused token
            if current is None:
                await self._ensure_current()
                current = self._tokens
                if current is None or current.access_token != stale:
                    return
            await self._rotate(current)

    async def _rotate(self, old: TokenSet) -> None:
        form = {"grant_type": "refresh_token", "refresh_token": old.refresh_token}
        try:
            new = self._masked(
                await request_tokens(self._http, self.token_url, self._basic, form, self._clock)
            )
        except AuthError:
            # Another process (a fresh ffn-login) may have stored newer tokens meanwhile.
            stored = self._masked(await self._store.load())
            if stored is None or stored.refresh_token == old.refresh_token:
                raise
            logger.info("ffn tokens were replaced in the store; using the stored ones")
            self._tokens = stored
            if self._expiring(stored):
                await self._rotate(stored)
            return
        self.refreshes += 1
        self._unsaved = new
        await self._flush_unsaved()
        # Routine (twice an hour per merchant): at INFO it was most of what an idle fleet logged.
        logger.debug("ffn access token refreshed; valid until {}", new.expires_at.isoformat())

    def _masked(self, tokens: _Tokens) -> _Tokens:
        if tokens is not None:
            self._access_slot.set(tokens.access_token)
            self._refresh_slot.set(tokens.refresh_token)
        return tokens

    async def _flush_unsaved(self) -> None:
        pending = self._unsaved
        if pending is None:
            return
        try:
            await self._store.save(pending)
        except Exception as exc:
            raise RetryableError(
                f"could not store the rotated FFN refresh token ({type(exc).__name__}); "
                "it is kept in memory and stored before first use",
                upstream="ffn",
            ) from exc
        self._tokens = pending
        self._unsaved = None

    async def aclose(self) -> None:
        await self._http.aclose()
