"""How a client puts credentials on a request and recovers from a 401."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from daemon.secrets import Secret, register


@runtime_checkable
class Auth(Protocol):
    async def apply(self, headers: dict[str, str], params: dict[str, str]) -> None:
        """Add credentials to the outgoing headers and/or query parameters.

        Called on every attempt, before the limiter is entered, so fetching a token here through a
        client that shares the limiter cannot deadlock.
        """
        ...

    async def on_unauthorized(self) -> bool:
        """Refresh credentials after a 401; True makes the client retry the request once."""
        ...


@runtime_checkable
class RequestSigner(Protocol):
    """An ``Auth`` whose credentials depend on the request itself (OAuth 1.0a signatures): called on
    every attempt instead of ``apply``, with the method and the final URL (query included)."""

    async def sign(self, method: str, url: str, headers: dict[str, str], params: dict[str, str]) -> None: ...

    async def on_unauthorized(self) -> bool: ...


class StaticAuth:
    """Fixed credentials (an API token header, a key pair in the query); nothing to refresh."""

    def __init__(
        self,
        *,
        headers: Mapping[str, Secret | str] | None = None,
        params: Mapping[str, Secret | str] | None = None,
    ) -> None:
        self._headers = dict(headers or {})
        self._params = dict(params or {})
        for value in (*self._headers.values(), *self._params.values()):
            if isinstance(value, str):
                register(value)

    def __repr__(self) -> str:
        return f"StaticAuth(headers={sorted(self._headers)}, params={sorted(self._params)})"

    async def apply(self, headers: dict[str, str], params: dict[str, str]) -> None:
        headers.update({name: _reveal(value) for name, value in self._headers.items()})
        params.update({name: _reveal(value) for name, value in self._params.items()})

    async def on_unauthorized(self) -> bool:
        return False


def _reveal(value: Secret | str) -> str:
    return value.reveal() if isinstance(value, Secret) else value
