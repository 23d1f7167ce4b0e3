"""Absolute stock writes: SKU → inventory item resolution, batches of 250, one bad item isolated,
compare-and-swap on ``changeFromQuantity`` and ``@idempotent`` keys (the 2026 shape, required from 2026-04)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from loguru import logger

from adapters.shopify import queries
from adapters.shopify.state import ShopifyState
from adapters.shopify.transport import GraphQLTransport
from daemon.errors import ChannelFatalError
from daemon.model import ShopStock
from daemon.ports import ItemFailure, ItemResult

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


@dataclass(frozen=True, slots=True)
class Entry:
    sku: str
    item: str
    quantity: int
    change_from: int | None  # the shop's available quantity last observed; None: not stocked there


class StockWriter:
    """Absolute ``available`` levels, compare-and-swap, one idempotency key per exact request body.

    ``changeFromQuantity`` is the quantity last observed for the item at the location (what we wrote last,
    or read when we have never looked). A sale since then, which the engine may not have counted yet, makes
    Shopify answer ``CHANGE_FROM_QUANTITY_STALE`` instead of the sale being overwritten: the item is read
    again (the new value observed) and reported ``TRANSIENT``; the engine then re-reads the shop's changed
    orders, recomputes (the new order now counts) and writes once more (``stock_cas``).
    """

    def __init__(
        self, transport: GraphQLTransport, items: InventoryItems, location_id: str, state: ShopifyState
    ) -> None:
        self._transport = transport
        self._items = items
        self._location_id = location_id
        self._state = state

    async def set_stock(self, levels: Sequence[ShopStock]) -> list[ItemResult]:
        latest = {level.sku: level for level in levels}  # a SKU listed twice: the last level wins
        refs = {sku: [lv.stock_ref] for sku, lv in latest.items() if lv.stock_ref}
        refs |= await self._items.resolve(sku for sku in latest if sku not in refs)
        failures: dict[str, tuple[ItemFailure, str]] = {}
        wanted: list[tuple[str, str, int]] = []
        for sku, level in latest.items():
            if sku not in refs:
                failures[sku] = (ItemFailure.UNKNOWN_SKU, f"unknown SKU {sku!r}: no Shopify variant has it")
                continue
            if len(refs[sku]) > 1:
                logger.warning(f"shopify SKU {sku!r} is on {len(refs[sku])} variants; setting stock on all")
            wanted.extend((sku, item, level.quantity) for item in refs[sku])
        for start in range(0, len(wanted), BATCH):
            for sku, failure in (await self._write_batch(wanted[start : start + BATCH])).items():
                failures.setdefault(sku, failure)
        return [
            ItemResult.failed(sku, *failures[sku]) if sku in failures else ItemResult.written(sku)
            for sku in latest
        ]

    async def _write_batch(self, wanted: list[tuple[str, str, int]]) -> dict[str, tuple[ItemFailure, str]]:
        items = [item for _, item, _ in wanted]
        seen = await self._state.observed(self._location_id, items)
        unseen = [item for item in items if item not in seen]
        if unseen:
            read = await self.read_available(unseen)
            await self._state.observe(self._location_id, read)
            seen |= read
        entries = [Entry(sku, item, qty, seen.get(item)) for sku, item, qty in wanted]
        refused, stale = await self._write(entries)
        failures = {sku: (ItemFailure.REFUSED, message) for sku, message in refused.items()}
        if stale:
            now = await self.read_available([e.item for e in stale])
            await self._state.observe(self._location_id, now)
            for e in stale:
                failures.setdefault(
                    e.sku,
                    (
                        ItemFailure.TRANSIENT,
                        f"Shopify quantity moved since last observed ({e.change_from} -> {now.get(e.item)}, "
                        "a sale or a manual change) [CHANGE_FROM_QUANTITY_STALE]; recomputed and written again",
                    ),
                )
        return failures

    async def read_available(self, items: Sequence[str]) -> dict[str, int]:
        """item gid -> ``available`` at our location (absent: not stocked there)."""
        found: dict[str, int] = {}
        unique = list(dict.fromkeys(items))
        for start in range(0, len(unique), queries.LEVELS_PAGE):
            chunk = unique[start : start + queries.LEVELS_PAGE]
            q = " OR ".join(f"id:{item.rsplit('/', 1)[-1]}" for item in chunk)
            data = await self._transport.query(
                queries.INVENTORY_LEVELS,
                {"first": len(chunk), "q": q, "location": self._location_id},
                estimate=2 + 3 * len(chunk),
            )
            for node in (data.get("inventoryItems") or {}).get("nodes") or []:
                level = node.get("inventoryLevel") or {}
                for quantity in level.get("quantities") or []:
                    if quantity.get("name") == "available":
                        found[str(node["id"])] = int(quantity["quantity"])
        return found

    async def _write(self, batch: list[Entry]) -> tuple[dict[str, str], list[Entry]]:
        """Write one batch: (failed SKU -> reason, entries whose changeFromQuantity was stale).

        Items Shopify refuses are dropped and the rest written again."""
        if not batch:
            return {}, []
        variables = {
            "input": {
                "name": "available",
                "reason": "correction",
                "quantities": [
                    {
                        "inventoryItemId": e.item,
                        "locationId": self._location_id,
                        "quantity": e.quantity,
                        "changeFromQuantity": e.change_from,
                    }
                    for e in batch
                ],
            }
        }
        body_hash = hashlib.sha256(orjson.dumps(variables, option=orjson.OPT_SORT_KEYS)).hexdigest()
        key = await self._state.idempotency_key(body_hash)  # stored before sending
        # Safe to resend: the same body carries the same key, and Shopify answers a repeat with the first result.
        data = await self._transport.mutate(
            queries.SET_QUANTITIES, {**variables, "key": key}, idempotent=True
        )
        await self._state.settle_key(body_hash)
        user_errors: list[dict[str, Any]] = (data.get("inventorySetQuantities") or {}).get("userErrors") or []
        if not user_errors:
            await self._state.observe(self._location_id, {e.item: e.quantity for e in batch})
            return {}, []
        if any(e.get("code") == "INVALID_LOCATION" for e in user_errors):
            raise ChannelFatalError(
                f"Shopify does not know location {self._location_id}: {user_errors[0].get('message')}; "
                "check location_id",
                upstream="shopify",
                vendor_code="INVALID_LOCATION",
            )
        failed: dict[int, str] = {}
        stale: dict[int, Entry] = {}
        for error in user_errors:
            index = _quantity_index(error.get("field"))
            if index is None or index >= len(batch):
                continue
            if error.get("code") == "CHANGE_FROM_QUANTITY_STALE":
                stale[index] = batch[index]
            else:
                failed.setdefault(index, _describe(error))
        if not failed and not stale:
            if len(batch) == 1:
                return {batch[0].sku: _describe(user_errors[0])}, []
            # Errors not tied to an item: halve until the culprit stands alone.
            middle = len(batch) // 2
            first, first_stale = await self._write(batch[:middle])
            second, second_stale = await self._write(batch[middle:])
            return {**first, **second}, first_stale + second_stale
        result = {batch[i].sku: message for i, message in failed.items()}
        rest = [entry for i, entry in enumerate(batch) if i not in failed and i not in stale]
        more, more_stale = await self._write(rest)
        return {**more, **result}, [*stale.values(), *more_stale]


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
