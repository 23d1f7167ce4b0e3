"""Absolute stock levels to Shopware in bulk (``/_action/sync`` upserts), one result per SKU.

SKUs resolve to product ids through ``productNumber`` (cached); an unknown SKU or a parent
product fails alone and never reaches the write, because an upsert of an unknown id would try
to create a product.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from loguru import logger

from adapters.shopware import queries
from adapters.shopware.transport import ShopwareApi
from daemon.errors import RecordError
from daemon.model import ShopStock
from daemon.ports import ItemFailure, ItemResult


@dataclass(frozen=True, slots=True)
class ProductRef:
    product_id: str
    child_count: int


class StockWriter:
    def __init__(self, api: ShopwareApi, batch_size: int) -> None:
        self._api = api
        self._batch = max(1, batch_size)
        self.refs: dict[str, ProductRef] = {}

    def remember(self, sku: str, product_id: str, child_count: int = 0) -> None:
        self.refs[sku] = ProductRef(product_id, child_count)

    async def _resolve(self, skus: list[str]) -> None:
        missing = [s for s in dict.fromkeys(skus) if s not in self.refs]
        for start in range(0, len(missing), self._batch):
            chunk = missing[start : start + self._batch]
            # With inheritance a variant comes back complete (as the spec's Product describes it).
            found = await self._api.search("product", queries.products_by_number(chunk), inherit=True)
            for row in found:
                if isinstance(row.get("productNumber"), str) and isinstance(row.get("id"), str):
                    self.remember(row["productNumber"], row["id"], int(row.get("childCount") or 0))

    async def set_stock(self, levels: Sequence[ShopStock]) -> list[ItemResult]:
        results: dict[str, ItemResult] = {}
        for level in levels:
            if level.stock_ref:
                self.refs.setdefault(level.sku, ProductRef(level.stock_ref, 0))
        await self._resolve([level.sku for level in levels])
        writes: list[tuple[ShopStock, str]] = []
        for level in levels:
            ref = self.refs.get(level.sku)
            if ref is None:
                results[level.sku] = ItemResult.failed(
                    level.sku,
                    ItemFailure.UNKNOWN_SKU,
                    f"SKU {level.sku}: no Shopware product has this product number",
                )
            elif ref.child_count:
                results[level.sku] = ItemResult.failed(
                    level.sku,
                    ItemFailure.NOT_MANAGED,
                    f"SKU {level.sku} is a parent product with {ref.child_count} variants; "
                    "stock belongs on the variants",
                )
            else:
                writes.append((level, ref.product_id))
        for start in range(0, len(writes), self._batch):
            results.update(await self._write(writes[start : start + self._batch]))
        return [results[level.sku] for level in levels]

    async def _write(self, batch: list[tuple[ShopStock, str]]) -> dict[str, ItemResult]:
        payload = [{"id": product_id, "stock": level.quantity} for level, product_id in batch]
        try:
            await self._api.sync([{"action": "upsert", "entity": "product", "payload": payload}])
        except RecordError as exc:
            # One bad row fails the whole sync; write one by one to keep the good ones.
            logger.warning(
                f"shopware stock sync of {len(batch)} items refused ({exc.message}); writing singly"
            )
            return {level.sku: await self._write_one(level, product_id) for level, product_id in batch}
        return {level.sku: ItemResult.written(level.sku) for level, _ in batch}

    async def _write_one(self, level: ShopStock, product_id: str) -> ItemResult:
        try:
            await self._api.patch("product", product_id, {"stock": level.quantity})
        except RecordError as exc:
            self.refs.pop(level.sku, None)  # maybe deleted; resolve afresh next time
            reason = ItemFailure.UNKNOWN_SKU if exc.status == 404 else ItemFailure.REFUSED
            return ItemResult.failed(level.sku, reason, f"SKU {level.sku}: {exc.message}")
        return ItemResult.written(level.sku)
