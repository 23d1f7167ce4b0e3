"""In-memory shop: products (with variations), orders, notes and shipment trackings."""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from daemon.clock import Clock


@dataclass
class Product:
    """A ``product`` or ``product_variation`` post; variations have ``parent_id`` and type ``variation``."""

    id: int
    name: str
    type: str  # simple | variable | variation
    sku: str
    created: datetime
    modified: datetime
    parent_id: int = 0
    price: Decimal = Decimal("0")
    weight: str = ""
    dimensions: dict[str, str] = field(default_factory=lambda: {"length": "", "width": "", "height": ""})
    manage_stock: bool = False
    stock_quantity: int | None = None
    virtual: bool = False
    global_unique_id: str = ""
    meta: list[dict[str, Any]] = field(default_factory=list)
    option: str = ""  # the variation's attribute value
    variation_ids: list[int] = field(default_factory=list)


@dataclass
class LineItem:
    id: int
    product_id: int
    variation_id: int
    name: str
    quantity: int
    price: Decimal


@dataclass
class RefundLine:
    item_id: int  # the order's line item that was refunded
    quantity: int  # positive here; WooCommerce shows refund lines with negative quantities
    price: Decimal


@dataclass
class Refund:
    """A ``shop_order_refund``: a separate record, the order's own lines keep their quantities."""

    id: int
    created: datetime
    lines: list[RefundLine]
    amount: Decimal
    reason: str = ""
    restocked: bool = False


@dataclass
class Note:
    id: int
    note: str
    customer_note: bool
    created: datetime
    author: str = "system"


@dataclass
class Order:
    id: int
    number: str
    status: str
    created: datetime
    modified: datetime
    currency: str = "EUR"
    billing: dict[str, str] = field(default_factory=dict)
    shipping: dict[str, str] = field(default_factory=dict)
    payment_method: str = "bacs"
    payment_method_title: str = "Direct Bank Transfer"
    paid: datetime | None = None
    completed: datetime | None = None
    customer_note: str = ""
    line_items: list[LineItem] = field(default_factory=list)
    shipping_lines: list[dict[str, Any]] = field(default_factory=list)
    meta: list[dict[str, Any]] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    # Per line item, the units currently taken from the product's stock (``_reduced_stock``);
    # non-empty is ``_order_stock_reduced``.
    reduced_stock: dict[int, int] = field(default_factory=dict)


class ShopState:
    def __init__(self, clock: Clock, site_tz: str) -> None:
        self.clock = clock
        self.tz = ZoneInfo(site_tz)
        self.products: dict[int, Product] = {}
        self.orders: dict[int, Order] = {}
        self._skus: dict[str, int] = {}
        # (date_modified, id) of every order, sorted: the index behind orderby=modified.
        self.orders_by_modified: list[tuple[datetime, int]] = []
        self.products_by_modified: list[tuple[datetime, int]] = []
        self._next_id = 100
        self.used_nonces: dict[str, int] = {}  # OAuth 1.0a nonce -> its timestamp (15 min window)
        # Called with a webhook topic ("order.updated") and the resource's id on every change.
        self.on_change: Callable[[str, int], None] | None = None

    def changed(self, topic: str, resource_id: int) -> None:
        if self.on_change is not None:
            self.on_change(topic, resource_id)

    def reset(self) -> None:
        self.products.clear()
        self.orders.clear()
        self.orders_by_modified.clear()
        self.products_by_modified.clear()
        self._skus.clear()
        self.used_nonces.clear()
        self._next_id = 100

    def new_id(self) -> int:
        # WordPress shares one id sequence between posts, items, notes and meta rows.
        self._next_id += 1
        return self._next_id

    def now(self) -> datetime:
        """Current time at the database's one-second resolution."""
        return self.clock.now().replace(microsecond=0)

    # products -----------------------------------------------------------------------------------
    def by_sku(self, sku: str) -> Product | None:
        ident = self._skus.get(sku) if sku else None
        return self.products.get(ident) if ident is not None else None

    def put_product(self, product: Product) -> None:
        self.products[product.id] = product
        bisect.insort(self.products_by_modified, (product.modified, product.id))
        if product.sku:
            self._skus.setdefault(product.sku, product.id)
        self.changed("product.created", product.id)

    def remove_product(self, product: Product) -> None:
        self.products.pop(product.id, None)
        _unindex(self.products_by_modified, (product.modified, product.id))
        if self._skus.get(product.sku) == product.id:
            del self._skus[product.sku]

    def set_sku(self, product: Product, sku: str) -> None:
        if self._skus.get(product.sku) == product.id:
            del self._skus[product.sku]
        product.sku = sku
        if sku:
            self._skus.setdefault(sku, product.id)

    def effective_sku(self, product: Product) -> str:
        """A variation without its own SKU shows its parent's (what the live lookup returns)."""
        if product.sku or not product.parent_id:
            return product.sku
        parent = self.products.get(product.parent_id)
        return parent.sku if parent else ""

    def touch_product(self, product: Product) -> None:
        _unindex(self.products_by_modified, (product.modified, product.id))
        product.modified = self.now()
        bisect.insort(self.products_by_modified, (product.modified, product.id))
        self.changed("product.updated", product.id)

    def add_meta(self, meta: list[dict[str, Any]], key: str, value: Any) -> None:
        meta.append({"id": self.new_id(), "key": key, "value": value})

    def update_meta(self, meta: list[dict[str, Any]], entries: list[dict[str, Any]]) -> None:
        """``WC_Data::update_meta_data``: by id when given, else replace the first row with that key."""
        for entry in entries:
            key, value, meta_id = entry.get("key"), entry.get("value"), entry.get("id")
            target = next((m for m in meta if meta_id and m["id"] == meta_id), None)
            if target is None:
                target = next((m for m in meta if m["key"] == key), None)
            if target is None:
                self.add_meta(meta, str(key), value)
            else:
                target["key"] = key if key is not None else target["key"]
                target["value"] = value

    # orders ---------------------------------------------------------------------------------------
    def put_order(self, order: Order) -> None:
        self.orders[order.id] = order
        bisect.insort(self.orders_by_modified, (order.modified, order.id))
        self.changed("order.created", order.id)

    def touch_order(self, order: Order) -> None:
        _unindex(self.orders_by_modified, (order.modified, order.id))
        order.modified = self.now()
        bisect.insort(self.orders_by_modified, (order.modified, order.id))
        self.changed("order.updated", order.id)

    def order_meta(self, order: Order, key: str) -> Any:
        return next((m["value"] for m in order.meta if m["key"] == key), None)


def _unindex(keys: list[tuple[datetime, int]], key: tuple[datetime, int]) -> None:
    index = bisect.bisect_left(keys, key)
    if index < len(keys) and keys[index] == key:
        del keys[index]


@dataclass
class Settings:
    """Knobs of one sandbox app."""

    consumer_key: str
    consumer_secret: str
    shipment_tracking: bool
    batch_limit: int = 100
    # What PHP's ``is_ssl()`` answers: "off" (plain HTTP), "on" (TLS ends at PHP's web server) or
    # "forwarded" (behind a TLS-terminating proxy with the wp-config snippet trusting X-Forwarded-Proto).
    https: str = "off"
    weight_unit: str = "kg"  # option woocommerce_weight_unit
    dimension_unit: str = "cm"  # option woocommerce_dimension_unit


STATE_KEY: web.AppKey[ShopState] = web.AppKey("wc_state", ShopState)
SETTINGS_KEY: web.AppKey[Settings] = web.AppKey("wc_settings", Settings)
