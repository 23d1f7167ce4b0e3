"""Network set-up data (fulfillers, warehouses, shipping methods), cached for the client's lifetime."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from loguru import logger

from adapters.ffn import paths
from adapters.ffn.listing import paged_items
from adapters.ffn.mapping import Carrier, carrier_from
from daemon.errors import RecordError
from daemon.http import HttpClient

_UNKNOWN = Carrier(name=None, tracking_url_schema=None)


class SetupData:
    def __init__(self, http: HttpClient, *, page_size: int) -> None:
        self._http = http
        self._page_size = page_size
        self._carriers: dict[str, Carrier] = {}
        self._methods_loaded = False
        self._lock = asyncio.Lock()

    async def _all(self, path: str) -> list[dict[str, Any]]:
        return [item async for item in paged_items(self._http, path, page_size=self._page_size)]

    async def fulfillers(self) -> list[dict[str, Any]]:
        return await self._all(paths.FULFILLERS)

    async def warehouses(self) -> list[dict[str, Any]]:
        return await self._all(paths.WAREHOUSES)

    async def shipping_methods(self) -> list[dict[str, Any]]:
        methods = await self._all(paths.SHIPPING_METHODS)
        for method in methods:
            self._carriers[str(method["shippingMethodId"])] = carrier_from(method)
        self._methods_loaded = True
        return methods

    async def carriers(self, shipping_method_ids: Iterable[str]) -> dict[str, Carrier]:
        """Carrier info for each id: one list call the first time, single lookups for ids added later."""
        wanted = {i for i in shipping_method_ids if i}
        async with self._lock:
            if not self._methods_loaded and wanted - self._carriers.keys():
                await self.shipping_methods()
            for method_id in sorted(wanted - self._carriers.keys()):
                self._carriers[method_id] = await self._fetch_one(method_id)
        return {i: self._carriers[i] for i in wanted}

    async def _fetch_one(self, method_id: str) -> Carrier:
        try:
            method = await self._http.get_json(paths.shipping_method(method_id))
        except RecordError as exc:
            # An unknown method (e.g. withdrawn by the fulfiller) must not block the shipment itself.
            logger.warning(f"ffn shipping method {method_id} not readable ({exc}); no carrier for it")
            return _UNKNOWN
        return carrier_from(method)

    async def carrier_for(
        self, shipping_method_id: str, tracking_number: str
    ) -> tuple[str | None, str | None]:
        """(carrierName, tracking URL from the method's trackingUrlSchema)."""
        carrier = (await self.carriers([shipping_method_id])).get(shipping_method_id, _UNKNOWN)
        return carrier.name, carrier.url_for(tracking_number)
