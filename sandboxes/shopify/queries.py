"""The query root the sandbox serves: orders, ordersCount, order, productVariants, productVariant, locations, shop, job."""

from __future__ import annotations

from typing import Any

from sandboxes.shopify import search
from sandboxes.shopify.paging import connection
from sandboxes.shopify.views import Info, View, Views, require_gid
from sandboxes.shopify.world import Order, Variant, World, gid

ORDER_FILTERS: search.Accessors = {
    "updated_at": lambda o: o.updated_at,
    "created_at": lambda o: o.created_at,
    "processed_at": lambda o: o.created_at,
    "status": lambda o: _order_status(o),
    "financial_status": lambda o: o.financial_status.lower(),
    "fulfillment_status": lambda o: o.fulfillment_status.lower(),
    "sku": lambda o: [li.sku for li in o.line_items if li.sku],
    "tag": lambda o: list(o.tags),
    "name": lambda o: o.name,
    "id": lambda o: str(o.id),
}
INVENTORY_ITEM_FILTERS: search.Accessors = {
    "id": lambda v: str(v.inventory_item_id),
    "sku": lambda v: v.sku,
    "updated_at": lambda v: v.updated_at,
}
# What an app installed with every scope it asks for holds (the ``access_scopes`` knob narrows it).
DEFAULT_SCOPES = (
    "read_orders", "read_all_orders", "read_products", "read_inventory", "write_inventory", "read_locations",
    "read_merchant_managed_fulfillment_orders", "write_merchant_managed_fulfillment_orders",
    "write_fulfillments", "write_orders",
)  # fmt: skip
VARIANT_FILTERS: search.Accessors = {
    "updated_at": lambda v: v.updated_at,
    "created_at": lambda v: v.created_at,
    "sku": lambda v: v.sku,
    "barcode": lambda v: v.barcode,
    "product_id": lambda v: str(v.product_id),
    "id": lambda v: str(v.id),
}


def _order_status(order: Order) -> str:
    if order.cancelled_at is not None:
        return "cancelled"
    return "closed" if order.closed_at is not None else "open"


def _order_key(sort_key: str) -> Any:
    # Keys are JSON-native (they go into cursors): whole epoch seconds, as Shopify's timestamps.
    if sort_key == "UPDATED_AT":
        return lambda o: (int(o.updated_at.timestamp()), o.id)
    if sort_key in ("CREATED_AT", "PROCESSED_AT"):
        return lambda o: (int(o.created_at.timestamp()), o.id)
    if sort_key == "ORDER_NUMBER":
        return lambda o: (o.number, o.id)
    return lambda o: (o.id,)


def _variant_key(sort_key: str) -> Any:
    if sort_key == "SKU":
        return lambda v: (v.sku or "", v.id)
    return lambda v: (v.id,)


def _note_search(info: Info, query: str | None, flt: search.SearchFilter) -> None:
    if flt.warnings:
        info.context.setdefault("search", []).append(
            {"path": [info.field_name], "query": query, "warnings": flt.warnings}
        )


class QueryRoot:
    def __init__(self, world: World) -> None:
        self.world = world
        self.views = Views(world)

    def orders(
        self,
        info: Info,
        sortKey: str = "PROCESSED_AT",
        query: str | None = None,
        savedSearchId: str | None = None,
        **page: Any,
    ) -> View:
        found = self._search_orders(info, query)
        return connection(found, key=_order_key(sortKey), view=self.views.order, **page)

    def ordersCount(
        self,
        info: Info,
        query: str | None = None,
        limit: int | None = 10000,
        savedSearchId: str | None = None,
    ) -> View:
        """The schema's description: counted up to ``limit`` (10,000 by default, ``null`` for none); a count
        that reached the limit is the limit with precision ``AT_LEAST``. Same search (and index) as ``orders``."""
        found = len(self._search_orders(info, query))
        if limit is not None and found >= limit:
            return {"count": limit, "precision": "AT_LEAST"}
        return {"count": found, "precision": "EXACT"}

    def _search_orders(self, info: Info, query: str | None) -> list[Order]:
        flt = search.parse(query, ORDER_FILTERS)
        _note_search(info, query, flt)
        found = [o for o in self.world.orders.values() if flt.matches(o, ORDER_FILTERS)]
        if query is not None and self.world.search_lag_s > 0:
            now = self.world.clock.now()  # a search reads the index, which may not have the newest orders yet
            found = [o for o in found if o.searchable_at is None or o.searchable_at <= now]
        return found

    def order(self, _info: Info, id: str) -> View | None:
        found = self.world.order(require_gid(id, "Order"))
        return self.views.order(found) if found else None

    def fulfillmentOrder(self, _info: Info, id: str) -> View | None:
        found = self.world.fulfillment_order(require_gid(id, "FulfillmentOrder"))
        return self.views.fulfillment_order(*found) if found else None

    def productVariants(
        self,
        info: Info,
        sortKey: str = "ID",
        query: str | None = None,
        savedSearchId: str | None = None,
        **page: Any,
    ) -> View:
        flt = search.parse(query, VARIANT_FILTERS)
        _note_search(info, query, flt)
        found: list[Variant] = [v for v in self.world.variants.values() if flt.matches(v, VARIANT_FILTERS)]
        return connection(found, key=_variant_key(sortKey), view=self.views.variant, **page)

    def inventoryItems(
        self, info: Info, query: str | None = None, reverse: bool = False, **page: Any
    ) -> View:
        flt = search.parse(query, INVENTORY_ITEM_FILTERS)
        _note_search(info, query, flt)
        found = [v for v in self.world.variants.values() if flt.matches(v, INVENTORY_ITEM_FILTERS)]
        return connection(found, key=lambda v: (v.inventory_item_id,), view=self.views.inventory_item, **page)

    def currentAppInstallation(self, info: Info) -> View:
        scopes = info.context.get("access_scopes")
        return {
            "id": gid("AppInstallation", 1),
            "accessScopes": [{"handle": h} for h in (DEFAULT_SCOPES if scopes is None else scopes)],
        }

    def productVariant(self, _info: Info, id: str) -> View | None:
        found = self.world.variants.get(require_gid(id, "ProductVariant"))
        return self.views.variant(found) if found else None

    def locations(
        self,
        _info: Info,
        sortKey: str = "NAME",
        query: str | None = None,
        includeLegacy: bool = False,
        includeInactive: bool = False,
        **page: Any,
    ) -> View:
        found = [loc for loc in self.world.locations.values() if includeInactive or loc.is_active]
        key = (lambda loc: (loc.name, loc.id)) if sortKey == "NAME" else (lambda loc: (loc.id,))
        return connection(found, key=key, view=self.views.location, **page)

    def location(self, _info: Info, id: str | None = None) -> View | None:
        loc = (
            self.world.default_location
            if id is None
            else self.world.locations.get(require_gid(id, "Location"))
        )
        return self.views.location(loc) if loc else None

    def shop(self, _info: Info) -> View:
        return {
            "id": gid("Shop", 1),
            "name": self.world.shop_name,
            "currencyCode": self.world.currency,
            "myshopifyDomain": f"{self.world.shop_name}.myshopify.com",
            "weightUnit": "KILOGRAMS",
        }

    def job(self, _info: Info, id: str) -> View | None:
        number = require_gid(id, "Job")
        if number not in self.world.jobs:
            return None
        # A background job finishes by the time anyone asks twice.
        done = self.world.jobs[number]
        self.world.jobs[number] = True
        return {"id": id, "done": done}
