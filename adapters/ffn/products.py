"""Product upsert: find by merchantSku, create or patch the changed fields, authorize to the fulfiller."""

from __future__ import annotations

from typing import Any

from loguru import logger

from adapters.ffn import paths
from adapters.ffn.creating import create_with_retries
from adapters.ffn.errors import DUPLICATE_PRODUCT, PRODUCT_ALREADY_AUTHORIZED
from adapters.ffn.mapping import create_product_body, odata_quote, product_patch
from daemon.clock import Clock
from daemon.errors import RecordError
from daemon.http import HttpClient
from daemon.model import ShopProduct


class Products:
    def __init__(self, http: HttpClient, *, fulfiller_id: str, clock: Clock, attempts: int, backoff_s: float):
        self._http = http
        self._fulfiller_id = fulfiller_id
        self._clock = clock
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._authorized: set[str] = set()  # jfskus known to be authorized (saves a call per upsert)

    async def find_by_sku(self, merchant_sku: str) -> dict[str, Any] | None:
        body = await self._http.get_json(
            paths.odata(paths.PRODUCTS, {"$filter": f"merchantSku eq {odata_quote(merchant_sku)}", "$top": 2})
        )
        items = [i for i in (body or {}).get("items") or [] if i.get("merchantSku") == merchant_sku]
        return items[0] if items else None

    async def get(self, jfsku: str) -> dict[str, Any]:
        product: dict[str, Any] = await self._http.get_json(paths.product(jfsku))
        return product

    async def upsert(self, product: ShopProduct) -> str:
        existing = await self.find_by_sku(product.sku)
        if existing is None or not existing.get("jfsku"):
            jfsku, created = await self._create(product)
            if not created:
                await self._patch(product, await self.get(jfsku))
        else:
            jfsku = str(existing["jfsku"])
            await self._patch(product, existing)
        await self.authorize(jfsku)
        return jfsku

    async def _create(self, product: ShopProduct) -> tuple[str, bool]:
        """(jfsku, True) when created now; (jfsku, False) when FFN already had it (adopted)."""
        body = create_product_body(product)

        async def attempt() -> tuple[str, bool]:
            try:
                response = await self._http.request("POST", paths.PRODUCTS, json=body, ok=(201, 200))
            except RecordError as exc:
                if exc.vendor_code == DUPLICATE_PRODUCT and exc.details.get("Jfsku"):
                    logger.info(f"ffn product {product.sku} exists as {exc.details['Jfsku']}; adopting it")
                    return str(exc.details["Jfsku"]), False
                raise
            return str(response.json()["jfsku"]), True

        return await create_with_retries(
            f"product {product.sku}",
            attempt,
            clock=self._clock,
            attempts=self._attempts,
            backoff_s=self._backoff_s,
        )

    async def _patch(self, product: ShopProduct, existing: dict[str, Any]) -> None:
        patch = product_patch(product, existing)
        if patch:
            await self._http.request(
                "PATCH", paths.product(str(existing["jfsku"])), json=patch, idempotent=True
            )
            logger.debug(f"ffn product {product.sku} patched: {sorted(patch)}")

    async def authorize(self, jfsku: str) -> None:
        if jfsku in self._authorized:
            return
        try:
            await self._http.request(
                "POST",
                paths.product_authorizations(jfsku),
                json={"fulfillerId": self._fulfiller_id},
                idempotent=True,
                ok=(201, 200),
            )
        except RecordError as exc:
            if exc.vendor_code != PRODUCT_ALREADY_AUTHORIZED:
                raise
        self._authorized.add(jfsku)
