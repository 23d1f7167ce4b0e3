"""How a client puts credentials on a request and recovers from a 401."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Auth(Protocol):
    async def apply(self, headers: dict[str, str], params: dict[str, str]) -> None:
        """Add credentials to the outgoing headers and/or query parameters (called on every attempt)."""
        ...

    async def on_unauthorized(self) -> bool:
        """Refresh credentials after a 401; True makes the client retry the request once."""
        ...
