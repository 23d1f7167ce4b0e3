"""Absolute stock writes: SKU → inventory item resolution, batches of 250, one bad item isolated."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from loguru import logger

from adapters.shopify import queries
from adapters.shopify.transport import GraphQLTransport
from daemon.errors import ChannelFatalError
from daemon.model import ItemFailure, ItemResult, ShopStock

BATCH = 250  # Shopify caps array inputs at 250


def sku_query(skus: Iterable[str]) -> str:
    """``sku:"A" OR sku:"B"`` with quotes and backslashes escaped (search syntax)."""
    quoted = ('"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"' for s in skus)
    return " OR ".join(f"sku:{q}" for q in quoted)


class InventoryItems:
    """SKU → inventory item ids, learned from product pulls and resolved on demand (cached)."""

    def __init__(self, transport: GraphQLTransport) -> None:
        self._transport = transport
        self._by_sku: dict[str, list[str]] = {}

    def remember(self, sku: str, item_id: str) -> None:
        known = self._by_sku.setdefault(sku, [])
        if item_id not in known:
            known.append(item_id)

    async def resolve(self, skus: Iterable[str]) -> dict[str, list[str]]:
        wanted = list(dict.fromkeys(skus))
        missing = [s for s in wanted if s not in self._by_sku]
        for start in range(0, len(missing), queries.SKUS_PER_LOOKUP):
            chunk = missing[start : start + queries.SKUS_PER_LOOKUP]
            await self._lookup(chunk)
        return {s: self._by_sku[s] for s in wanted if self._by_sku.get(s)}

    async def _lookup(self, skus: list[str]) -> None:
        after: str | None = None
        chunk = set(skus)
        while True:
            data = await self._transport.query(
                queries.VARIANTS_BY_SKU,
                {"first": queries.SKU_LOOKUP_PAGE, "after": after, "q": sku_query(skus)},
            )
            page = data["productVariants"]
            for node in page["nodes"]:
                # The search is fuzzy about case and prefixes; only exact SKUs count.
                if node.get("sku") in chunk and (node.get("inventoryItem") or {}).get("id"):
                    self.remember(node["sku"], node["inventoryItem"]["id"])
            if not page["pageInfo"]["hasNextPage"]:
                return
            after = page["pageInfo"]["endCursor"]


class StockWriter:
    def __init__(self, transport: GraphQLTransport, items: InventoryItems, location_id: str) -> None:
        self._transport = transport
        self._items = items
        self._location_id = location_id

    async def set_stock(self, levels: Sequence[ShopStock]) -> list[ItemResult]:
        latest = {level.sku: level for level in levels}  # a SKU listed twice: the last level wins
        refs = {sku: [lv.stock_ref] for sku, lv in latest.items() if lv.stock_ref}
        refs |= await self._items.resolve(sku for sku in latest if sku not in refs)
        errors: dict[str, str] = {}
        unknown: set[str] = set()
        entries: list[tuple[str, str, int]] = []
        for sku, level in latest.items():
            if sku not in refs:
                errors[sku] = f"unknown SKU {sku!r}: no Shopify variant has it"
                unknown.add(sku)
                continue
            if len(refs[sku]) > 1:
                logger.warning(f"shopify SKU {sku!r} is on {len(refs[sku])} variants; setting stock on all")
            entries.extend((sku, item, level.quantity) for item in refs[sku])
        for start in range(0, len(entries), BATCH):
            for sku, message in (await self._write(entries[start : start + BATCH])).items():
                errors.setdefault(sku, message)
        return [
            ItemResult.written(sku)
            if sku not in errors
            else ItemResult.failed(
                sku, ItemFailure.UNKNOWN_SKU if sku in unknown else ItemFailure.REFUSED, errors[sku]
            )
            for sku in latest
        ]

    async def _write(self, batch: list[tuple[str, str, int]]) -> dict[str, str]:
        """Write one batch; items Shopify refuses are dropped and the rest written again."""
        if not batch:
            return {}
        variables = {
            "input": {
                "name": "available",
                "reason": "correction",
                # 2025-01 shape; from 2026-04 Shopify wants changeFromQuantity: null and @idempotent instead.
                "ignoreCompareQuantity": True,
                "quantities": [
                    {"inventoryItemId": item, "locationId": self._location_id, "quantity": qty}
                    for _, item, qty in batch
                ],
            }
        }
        # An absolute level is safe to send twice, so transient failures are retried.
        data = await self._transport.mutate(queries.SET_QUANTITIES, variables, idempotent=True)
        user_errors: list[dict[str, Any]] = (data.get("inventorySetQuantities") or {}).get("userErrors") or []
        if not user_errors:
            return {}
        if any(e.get("code") == "INVALID_LOCATION" for e in user_errors):
            raise ChannelFatalError(
                f"Shopify does not know location {self._location_id}: {user_errors[0].get('message')}; "
                "check location_id",
                upstream="shopify",
                vendor_code="INVALID_LOCATION",
            )
        failed: dict[int, str] = {}
        for error in user_errors:
            index = _quantity_index(error.get("field"))
            if index is not None and index < len(batch):
                failed.setdefault(index, _describe(error))
        if not failed:
            if len(batch) == 1:
                return {batch[0][0]: _describe(user_errors[0])}
            # Errors not tied to an item: halve until the culprit stands alone.
            middle = len(batch) // 2
            return {**await self._write(batch[:middle]), **await self._write(batch[middle:])}
        result = {batch[i][0]: message for i, message in failed.items()}
        rest = [entry for i, entry in enumerate(batch) if i not in failed]
        return {**await self._write(rest), **result}


def _quantity_index(field: Any) -> int | None:
    # ["input", "quantities", "3", "inventoryItemId"]
    if isinstance(field, list) and len(field) >= 3 and field[1] == "quantities" and str(field[2]).isdigit():
        return int(field[2])
    return None


def _describe(error: dict[str, Any]) -> str:
    field = ".".join(str(f) for f in error.get("field") or [])
    code = f" [{error['code']}]" if error.get("code") else ""
    return f"Shopify refused stock write{code}: {error.get('message')}" + (
        f" (field {field})" if field else ""
    )
