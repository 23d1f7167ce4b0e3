"""Consumer key/secret: HTTP Basic (over HTTPS), or query parameters for hosts that strip the header."""

from __future__ import annotations

import base64
from typing import Literal

from daemon.secrets import Secret, register

AuthMode = Literal["basic", "query"]


class ConsumerKeyAuth:
    """Implements ``daemon.http.Auth``; WooCommerce keys do not expire, so a 401 is final."""

    def __init__(self, consumer_key: Secret, consumer_secret: Secret, mode: AuthMode = "basic") -> None:
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
