"""OAuth token records shared by the store (which keeps them) and the adapters (which use them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class TokenSet:
    access_token: str
    refresh_token: str
    expires_at: datetime

    def __repr__(self) -> str:
        return f"TokenSet(expires_at={self.expires_at.isoformat()})"


class TokenStore(Protocol):
    """Durable home of a single-use refresh token (Postgres in production)."""

    async def load(self) -> TokenSet | None: ...

    async def save(self, tokens: TokenSet) -> None: ...
