"""What the channel remembers about the shop's catalogue: which units are virtual, where a SKU lives.

Order lines carry no "needs shipping" flag in WooCommerce, so the products behind them are looked
up once (a batch ``include=`` read per page of orders) and remembered. SKUs resolve to
(id, parent id) through ``GET /products?sku=`` (which also finds variations), cached as well.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any

from adapters.woocommerce.errors import decode
from adapters.woocommerce.mapping import unit_id
from daemon.http import HttpClient

API = "wc/v3"
_INCLUDE_CHUNK = 100


class Catalog:
    def __init__(self, http: HttpClient) -> None:
        self._http = http
        self.virtual: set[int] = set()
        self._known: set[int] = set()
        self._skus: dict[str, tuple[int, int]] = {}
        self._lookups: dict[str, asyncio.Task[tuple[int, int] | None]] = {}

    # virtual units --------------------------------------------------------------------------------
    def learn(self, row: Mapping[str, Any], parent_id: int = 0) -> None:
        """Remember a product or variation row seen anywhere (products pull, SKU lookup)."""
        ident = int(row["id"])
        self._known.add(ident)
        if row.get("virtual"):
            self.virtual.add(ident)
        else:
            self.virtual.discard(ident)
        parent = parent_id or int(row.get("parent_id") or 0)
        sku = row.get("sku")
        if isinstance(sku, str) and sku.strip() and row.get("type") != "variable":
            self._skus[sku.strip()] = (ident, parent if row.get("type", "variation") == "variation" else 0)

    async def ensure_units(self, line_items: Iterable[Mapping[str, Any]]) -> None:
        """Learn the virtual flag of every unit behind these lines that is not known yet."""
        products: set[int] = set()
        variations: dict[int, set[int]] = {}
        for item in line_items:
            unit = unit_id(item)
            if not unit or unit in self._known:
                continue
            if item.get("variation_id"):
                variations.setdefault(int(item["product_id"]), set()).add(unit)
            else:
                products.add(unit)
        for chunk in _chunks(sorted(products)):
            await self._learn_from(f"{API}/products", chunk, parent_id=0)
        for parent, ids in variations.items():
            for chunk in _chunks(sorted(ids)):
                await self._learn_from(f"{API}/products/{parent}/variations", chunk, parent_id=parent)

    async def _learn_from(self, path: str, ids: list[int], *, parent_id: int) -> None:
        params = {
            "include": ",".join(map(str, ids)),
            "per_page": _INCLUDE_CHUNK,
            "_fields": "id,virtual,sku,type,parent_id",
        }
        response = await self._http.request("GET", path, params=params, ok=(200, 404))
        rows = decode(response, list, f"GET {path}") if response.status == 200 else []
        for row in rows:
            if isinstance(row, dict) and "id" in row:
                self.learn(row, parent_id)
        # Deleted products stay unknown to the shop; treat them as physical and stop asking.
        self._known.update(ids)

    # SKUs -------------------------------------------------------------------------------------------
    def forget_sku(self, sku: str) -> None:
        self._skus.pop(sku, None)

    async def resolve_sku(self, sku: str) -> tuple[int, int] | None:
        """(id, parent id or 0) of the unit with this SKU; None when the shop has none."""
        if sku in self._skus:
            return self._skus[sku]
        task = self._lookups.get(sku)
        if task is None:
            task = asyncio.ensure_future(self._lookup(sku))
            self._lookups[sku] = task
        try:
            return await asyncio.shield(task)
        finally:
            if task.done():
                self._lookups.pop(sku, None)

    async def _lookup(self, sku: str) -> tuple[int, int] | None:
        params = {"sku": sku, "_fields": "id,parent_id,type,sku,virtual", "per_page": 10}
        response = await self._http.request("GET", f"{API}/products", params=params)
        rows = decode(response, list, f"GET products?sku={sku}")
        for row in rows:
            if isinstance(row, dict) and row.get("sku") == sku and row.get("type") != "variable":
                self.learn(row)
        return self._skus.get(sku)


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _INCLUDE_CHUNK):
        yield ids[start : start + _INCLUDE_CHUNK]
