"""Absolute stock quantities through the batch endpoints, ≤ 100 items per call, failures per item."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from loguru import logger

from adapters.woocommerce import mapping
from adapters.woocommerce.catalog import API, Catalog
from adapters.woocommerce.errors import decode
from daemon.errors import RecordError
from daemon.http import HttpClient
from daemon.model import ShopStock
from daemon.ports import ItemFailure, ItemResult

BATCH_LIMIT = 100
_INVALID_ID = ("woocommerce_rest_product_invalid_id", "woocommerce_rest_product_variation_invalid_id")


class StockWriter:
    def __init__(self, http: HttpClient, catalog: Catalog) -> None:
        self._http = http
        self._catalog = catalog

    async def set_stock(self, levels: Sequence[ShopStock]) -> list[ItemResult]:
        latest = {level.sku: level for level in levels}  # one result per SKU; the last level wins
        targets = await asyncio.gather(*(self._target(level) for level in latest.values()))
        results: dict[str, ItemResult] = {}
        groups: dict[int, list[tuple[int, ShopStock]]] = {}
        for level, target in zip(latest.values(), targets, strict=True):
            if target is None:
                results[level.sku] = ItemResult.failed(
                    level.sku,
                    ItemFailure.UNKNOWN_SKU,
                    f"SKU {level.sku!r} not found in WooCommerce (no product or variation has it)",
                )
            else:
                unit, parent = target
                groups.setdefault(parent, []).append((unit, level))
        for parent, members in groups.items():
            path = f"{API}/products/{parent}/variations/batch" if parent else f"{API}/products/batch"
            for start in range(0, len(members), BATCH_LIMIT):
                results.update(await self._send(path, members[start : start + BATCH_LIMIT]))
        return [results[sku] for sku in latest]

    async def _target(self, level: ShopStock) -> tuple[int, int] | None:
        return mapping.parse_stock_ref(level.stock_ref) or await self._catalog.resolve_sku(level.sku)

    async def _send(self, path: str, members: list[tuple[int, ShopStock]]) -> dict[str, ItemResult]:
        body = {
            "update": [
                {"id": unit, "manage_stock": True, "stock_quantity": max(0, level.quantity)}
                for unit, level in members
            ]
        }
        try:
            # Absolute quantities: sending the same batch twice is harmless, so retries are allowed.
            response = await self._http.request("POST", path, json=body, idempotent=True)
            answer: dict[str, Any] = decode(response, dict, f"POST {path}")
        except RecordError as exc:
            logger.warning(f"stock batch {path} refused as a whole ({len(members)} items): {exc}")
            return {
                level.sku: ItemResult.failed(level.sku, ItemFailure.REFUSED, str(exc)) for _, level in members
            }
        by_id = {row.get("id"): row for row in answer.get("update") or [] if isinstance(row, dict)}
        results = {}
        for unit, level in members:
            row = by_id.get(unit)
            if row is None:
                results[level.sku] = ItemResult.failed(
                    level.sku, ItemFailure.TRANSIENT, f"no answer for id {unit} in the batch response"
                )
            elif isinstance(row.get("error"), dict):
                error = row["error"]
                unknown = error.get("code") in _INVALID_ID
                if unknown:
                    self._catalog.forget_sku(level.sku)  # deleted since we resolved it
                text = f"{error.get('code')}: {error.get('message')} (WooCommerce id {unit})"
                reason = ItemFailure.UNKNOWN_SKU if unknown else ItemFailure.REFUSED
                results[level.sku] = ItemResult.failed(level.sku, reason, text)
            else:
                results[level.sku] = ItemResult.written(level.sku)
        return results
