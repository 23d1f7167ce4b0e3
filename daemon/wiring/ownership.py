"""One writer per merchant: a job runs only while this instance holds the merchant's lease.

Every instance schedules every merchant; before a cycle, a job asks ``owns``. The first instance to ask
takes the merchant; the others stand by and take it over within one interval after the owner stops or
loses its database connection. Exactly one writer per FFN account also protects the single-use FFN
refresh token.
"""

from __future__ import annotations

import asyncio

import asyncpg
from loguru import logger

from daemon.store.lease import MerchantLease


class Ownership:
    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._lease: MerchantLease | None = None
        self._standing_by: set[str] = set()
        self._lock = asyncio.Lock()  # jobs of several lanes ask at once; one lease connection serves all

    async def owns(self, merchant_id: str) -> bool:
        async with self._lock:
            return await self._owns(merchant_id)

    async def _owns(self, merchant_id: str) -> bool:
        try:
            lease = await self._live_lease()
            if merchant_id in lease.owned and await lease.heartbeat():
                return True
            owned = merchant_id in await lease.acquire([merchant_id])
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            logger.warning("cannot check ownership of merchant {}: {}; skipping this cycle", merchant_id, exc)
            return False
        if owned:
            self._standing_by.discard(merchant_id)
        elif merchant_id not in self._standing_by:
            self._standing_by.add(merchant_id)
            logger.info("merchant {} is synced by another instance; standing by to take over", merchant_id)
        return owned

    async def _live_lease(self) -> MerchantLease:
        if self._lease is None or not self._lease.is_alive():
            if self._lease is not None:
                await self._lease.close()
            self._lease = await MerchantLease.connect(self._dsn)
        return self._lease

    async def aclose(self) -> None:
        if self._lease is not None:
            await self._lease.close()
            self._lease = None
