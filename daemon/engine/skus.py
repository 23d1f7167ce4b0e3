"""SKU → jfsku lookups for one push pass."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from daemon.store.skus import jfskus_of


class JfskuCache:
    """SKU → jfsku for one push pass: each SKU is looked up once, not once per order."""

    def __init__(self, pool: asyncpg.Pool, merchant_id: str) -> None:
        self._pool = pool
        self._merchant_id = merchant_id
        self._known: dict[str, str] = {}
        self._missing: set[str] = set()

    async def lookup(self, skus: Sequence[str]) -> dict[str, str]:
        unknown = [s for s in skus if s not in self._known and s not in self._missing]
        if unknown:
            found = await jfskus_of(self._pool, self._merchant_id, unknown)
            self._known.update(found)
            self._missing.update(s for s in unknown if s not in found)
        return {s: self._known[s] for s in skus if s in self._known}
