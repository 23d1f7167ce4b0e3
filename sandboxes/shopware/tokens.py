"""The integration's OAuth2 ``client_credentials`` grant with expiring bearer tokens."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from daemon.clock import Clock


class TokenIssuer:
    def __init__(self, client_id: str, client_secret: str, ttl_s: int, clock: Clock) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.ttl_s = ttl_s
        self.clock = clock
        self._tokens: dict[str, datetime] = {}
        self.issued = 0

    def issue(self, client_id: object, client_secret: object) -> str | None:
        if client_id != self.client_id or client_secret != self.client_secret:
            return None
        token = "sw-sandbox-" + secrets.token_urlsafe(24)
        self._tokens[token] = self.clock.now() + timedelta(seconds=self.ttl_s)
        self.issued += 1
        return token

    def check(self, authorization: str | None) -> str | None:
        """None when the bearer token is valid, else why not (for the 401 detail)."""
        if not authorization or not authorization.startswith("Bearer "):
            return "The resource owner or authorization server denied the request. Missing bearer token."
        expires = self._tokens.get(authorization[len("Bearer ") :].strip())
        if expires is None:
            return "The resource owner or authorization server denied the request. Access token is invalid."
        if self.clock.now() >= expires:
            return "The resource owner or authorization server denied the request. Access token has expired."
        return None

    def expire_all(self) -> None:
        self._tokens.clear()
