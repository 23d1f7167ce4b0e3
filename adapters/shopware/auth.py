"""OAuth2 ``client_credentials`` for an integration: one cached bearer token, refreshed in a single
flight shortly before it expires or once after a 401."""

from __future__ import annotations

import asyncio

from loguru import logger

from daemon.clock import Clock
from daemon.errors import AuthError, SyncError
from daemon.http import HttpClient
from daemon.secrets import Secret, SecretSlot

TOKEN_PATH = "oauth/token"
# Refresh this long before expiry (Shopware tokens live 600 s); never more than half the lifetime.
REFRESH_MARGIN_S = 60.0


class IntegrationAuth:
    """Implements ``daemon.http.Auth``; ``token_http`` must be a client without auth."""

    def __init__(self, token_http: HttpClient, client_id: str, client_secret: Secret, clock: Clock) -> None:
        self._http = token_http
        self._client_id = client_id
        self._client_secret = client_secret
        self._clock = clock
        self._token: str | None = None
        self._refresh_at = 0.0
        self._lock = asyncio.Lock()
        # A new token every ~9 minutes: the slot lets the registry forget the old ones.
        self._token_slot = SecretSlot("shopware access token")
        self.fetches = 0

    def __repr__(self) -> str:
        return f"IntegrationAuth(client_id={self._client_id!r}, client_secret={self._client_secret!r})"

    async def apply(self, headers: dict[str, str], params: dict[str, str]) -> None:
        headers["Authorization"] = f"Bearer {await self.token()}"

    async def on_unauthorized(self) -> bool:
        stale = self._token
        async with self._lock:
            if self._token is None or self._token == stale:
                await self._fetch()
        return True

    async def token(self) -> str:
        if self._token is not None and self._clock.monotonic() < self._refresh_at:
            return self._token
        async with self._lock:
            # Whoever waited on the lock may find the token another caller just fetched.
            if self._token is None or self._clock.monotonic() >= self._refresh_at:
                await self._fetch()
            assert self._token is not None
            return self._token

    async def _fetch(self) -> None:
        body = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._client_secret.reveal(),
        }
        try:
            # Asking for a token twice is harmless, so transient failures may be retried.
            answer = (await self._http.request("POST", TOKEN_PATH, json=body, idempotent=True)).json()
        except SyncError as exc:
            if exc.status in (400, 401, 403):
                raise AuthError(
                    f"Shopware refused the integration credentials (client_id {self._client_id}): "
                    f"{exc.message}; check the access key id/secret under Settings > System > Integrations",
                    upstream="shopware",
                    status=exc.status,
                    vendor_code=exc.vendor_code,
                ) from None
            raise
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise AuthError("Shopware token answer has no access_token", upstream="shopware")
        self._token_slot.set(token)
        lifetime = float(answer.get("expires_in") or 600)
        self._token = token
        self._refresh_at = self._clock.monotonic() + max(lifetime - REFRESH_MARGIN_S, lifetime / 2)
        self.fetches += 1
        logger.debug(f"shopware token fetched for client_id={self._client_id}, valid {lifetime:.0f}s")
