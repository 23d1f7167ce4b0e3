"""The sandbox shop's state: products, variants, inventory, orders, fulfillment orders, fulfilments.

Plain data plus the operations Shopify performs on it. Every change to an order bumps its ``updated_at``,
as in Shopify (our own fulfilments, tags and notes echo back in the next delta pull), except what Shopify
does on the fulfillment orders alone: placing or releasing a hold changes the fulfillment order, not the
order. Timestamps have whole-second granularity like Shopify's.

Inventory: placing an order moves its quantities from ``available`` to ``committed`` at the location each
line is assigned to; a fulfilment takes them out of ``committed`` (on hand drops), a cancel or an edit that
lowers a line gives the unfulfilled rest back to ``available``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from daemon.clock import Clock


def gid(kind: str, number: int) -> str:
    return f"gid://shopify/{kind}/{number}"


def parse_gid(value: str, kind: str) -> int | None:
    """The number in ``gid://shopify/{kind}/{n}`` (or a bare number); None when malformed or another kind."""
    prefix = f"gid://shopify/{kind}/"
    text = value[len(prefix) :] if value.startswith(prefix) else value
    return int(text) if text.isdigit() else None


@dataclass
class Variant:
    id: int
    product_id: int
    inventory_item_id: int
    sku: str | None
    title: str
    price: Decimal
    barcode: str | None
    weight_kg: Decimal | None
    created_at: datetime
    updated_at: datetime
    tracked: bool = True
    requires_shipping: bool = True


@dataclass
class Product:
    id: int
    title: str
    vendor: str
    created_at: datetime
    updated_at: datetime
    status: str = "ACTIVE"


@dataclass
class LineItem:
    id: int
    sku: str | None
    title: str
    variant_title: str | None
    quantity: int
    current_quantity: int
    requires_shipping: bool
    price: Decimal
    variant_id: int | None
    fulfilled: int = 0

    @property
    def name(self) -> str:
        return f"{self.title} - {self.variant_title}" if self.variant_title else self.title


@dataclass
class ShippingLine:
    id: int
    title: str
    code: str | None
    price: Decimal


@dataclass
class FulfillmentOrderLine:
    id: int
    line_item_id: int
    total: int
    remaining: int


@dataclass
class FulfillmentOrder:
    id: int
    order_id: int
    location_id: int
    lines: list[FulfillmentOrderLine]
    created_at: datetime
    updated_at: datetime
    status: str = "OPEN"
    request_status: str = "UNSUBMITTED"
    holds: list[tuple[str, str | None]] = field(default_factory=list)  # (FulfillmentHoldReason, notes)
    fulfill_at: datetime | None = None
    hidden: bool = False  # closed because it was replaced (edit, move): left out when displayable


@dataclass
class Tracking:
    number: str | None
    company: str | None
    url: str | None


@dataclass
class Fulfillment:
    id: int
    order_id: int
    name: str
    location_id: int
    created_at: datetime
    tracking: list[Tracking]
    lines: list[tuple[int, int]]  # (fulfillment order line id, quantity)
    notify_customer: bool
    status: str = "SUCCESS"

    @property
    def total_quantity(self) -> int:
        return sum(q for _, q in self.lines)


@dataclass
class Order:
    id: int
    number: int
    created_at: datetime
    updated_at: datetime
    currency: str
    financial_status: str
    line_items: list[LineItem]
    shipping_lines: list[ShippingLine]
    shipping_address: dict[str, Any] | None
    email: str | None = None
    phone: str | None = None
    note: str | None = None
    tags: list[str] = field(default_factory=list)
    gateway: str | None = "manual"
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    closed_at: datetime | None = None
    edited: bool = False
    fulfillment_orders: list[FulfillmentOrder] = field(default_factory=list)
    fulfillments: list[Fulfillment] = field(default_factory=list)
    test: bool = False
    # When ``orders(query:)`` starts finding it (the search index's lag, ``World.search_lag_s``).
    searchable_at: datetime | None = None

    @property
    def name(self) -> str:
        return f"#{self.number}"

    @property
    def total(self) -> Decimal:
        lines = sum((li.price * li.current_quantity for li in self.line_items), Decimal(0))
        return lines + self.shipping_total

    @property
    def shipping_total(self) -> Decimal:
        return sum((s.price for s in self.shipping_lines), Decimal(0))

    @property
    def fulfillment_status(self) -> str:
        shippable = [li for li in self.line_items if li.requires_shipping and li.current_quantity > 0]
        done = sum(min(li.fulfilled, li.current_quantity) for li in shippable)
        wanted = sum(li.current_quantity for li in shippable)
        if wanted and done >= wanted:
            return "FULFILLED"
        return "PARTIALLY_FULFILLED" if done else "UNFULFILLED"


@dataclass
class Location:
    id: int
    name: str
    is_active: bool = True
    # The fulfillment service (another app) owning the location; None = merchant-managed.
    fulfillment_service: str | None = None


class World:
    """All state of one sandbox shop. Ids are sequential per kind, as Shopify's are increasing."""

    def __init__(
        self,
        clock: Clock,
        *,
        currency: str = "EUR",
        shop_name: str = "ffn-sync-sandbox",
        on_change: Callable[[str, Any], None] | None = None,
        search_lag_s: float = 0.0,
    ) -> None:
        self.clock = clock
        # Seconds from an order's creation until a ``query:`` search finds it. Shopify runs such searches
        # against a search index (api-notes: a just-written order may appear a moment later; no primary
        # source says how long): 0 is an index that is never behind, more is the stricter reading.
        self.search_lag_s = search_lag_s
        # Called with a webhook topic (WebhookSubscriptionTopic value) and the changed record.
        self.on_change = on_change
        self.currency = currency
        self.shop_name = shop_name
        self._ids = itertools.count(1_000_001)
        self._numbers = itertools.count(1001)
        self.locations: dict[int, Location] = {}
        self.products: dict[int, Product] = {}
        self.variants: dict[int, Variant] = {}
        self.orders: dict[int, Order] = {}
        self.inventory: dict[tuple[int, int], int] = {}  # (inventory item id, location id) -> available
        self.committed: dict[tuple[int, int], int] = {}  # (inventory item id, location id) -> committed
        self.idempotent: dict[str, tuple[bytes, dict[str, Any]]] = {}  # key -> (input, first result)
        self.jobs: dict[int, bool] = {}  # job id -> done
        self.line_locations: dict[int, int] = {}  # line item id -> location id (default location if absent)
        self._fo_orders: dict[int, int] = {}  # fulfillment order id -> order id
        self.non_mutable_items: set[int] = set()  # inventory items that refuse writes (bundle parents)
        self.default_location = self.add_location("FFN Warehouse")

    def next_id(self) -> int:
        return next(self._ids)

    def changed(self, topic: str, record: Any) -> None:
        if self.on_change is not None:
            self.on_change(topic, record)

    def now(self) -> datetime:
        return self.clock.now().replace(microsecond=0)

    def add_location(self, name: str, fulfillment_service: str | None = None) -> Location:
        location = Location(self.next_id(), name, fulfillment_service=fulfillment_service)
        self.locations[location.id] = location
        return location

    # products -----------------------------------------------------------------------------------------

    def variant_by_sku(self, sku: str) -> Variant | None:
        return next((v for v in self.variants.values() if v.sku == sku), None)

    def variant_by_inventory_item(self, item_id: int) -> Variant | None:
        return next((v for v in self.variants.values() if v.inventory_item_id == item_id), None)

    def upsert_product(
        self,
        *,
        sku: str | None,
        name: str,
        price: Decimal,
        ean: str | None = None,
        weight_kg: Decimal | None = None,
        variant_title: str = "Default Title",
        requires_shipping: bool = True,
    ) -> Variant:
        now = self.now()
        existing = self.variant_by_sku(sku) if sku else None
        if existing is not None:
            existing.barcode, existing.price, existing.weight_kg = ean, price, weight_kg
            existing.updated_at = now
            product = self.products[existing.product_id]
            product.title, product.updated_at = name, now
            self.changed("PRODUCTS_UPDATE", existing)
            return existing
        product = Product(self.next_id(), name, "ffn-sync", now, now)
        self.products[product.id] = product
        variant = Variant(
            id=self.next_id(),
            product_id=product.id,
            inventory_item_id=self.next_id(),
            sku=sku,
            title=variant_title,
            price=price,
            barcode=ean,
            weight_kg=weight_kg,
            created_at=now,
            updated_at=now,
            requires_shipping=requires_shipping,
        )
        self.variants[variant.id] = variant
        for location in self.locations:  # stocked at every location (0 until set)
            self.inventory[(variant.inventory_item_id, location)] = 0
        self.changed("PRODUCTS_CREATE", variant)
        return variant

    def stock_by_sku(self, location_id: int | None = None) -> dict[str, int]:
        location = location_id or self.default_location.id
        return {
            v.sku: self.inventory.get((v.inventory_item_id, location), 0)
            for v in self.variants.values()
            if v.sku is not None
        }

    # orders -------------------------------------------------------------------------------------------

    def order(self, order_id: int) -> Order | None:
        return self.orders.get(order_id)

    def touch(self, order: Order) -> None:
        order.updated_at = self.now()
        self.changed("ORDERS_UPDATED", order)

    def open_fulfillment_orders(self, order: Order) -> None:
        """(Re)build the fulfillment orders from the shippable quantities not yet fulfilled.

        One fulfillment order per location; a line's location comes from ``line_locations``
        (line item id -> location id) or the default location.
        """
        now = self.now()
        holds: list[tuple[str, str | None]] = []
        for fo in order.fulfillment_orders:
            if fo.status in ("OPEN", "IN_PROGRESS", "SCHEDULED", "ON_HOLD"):
                holds = holds or list(fo.holds)
                fo.status, fo.updated_at = "CLOSED", now
                fo.hidden = order.cancelled_at is None  # replaced by the ones built below
                for line in fo.lines:
                    line.remaining = 0
        if order.cancelled_at is not None:
            return
        by_location: dict[int, list[FulfillmentOrderLine]] = {}
        for li in order.line_items:
            open_qty = li.current_quantity - li.fulfilled
            if li.requires_shipping and open_qty > 0:
                location = self.line_locations.get(li.id, self.default_location.id)
                by_location.setdefault(location, []).append(
                    FulfillmentOrderLine(self.next_id(), li.id, open_qty, open_qty)
                )
        for location, lines in by_location.items():
            fo = FulfillmentOrder(self.next_id(), order.id, location, lines, now, now, holds=list(holds))
            if holds:
                fo.status = "ON_HOLD"
            self.add_fulfillment_order(order, fo)

    def add_fulfillment_order(self, order: Order, fo: FulfillmentOrder) -> None:
        order.fulfillment_orders.append(fo)
        self._fo_orders[fo.id] = order.id

    # committed stock --------------------------------------------------------------------------------

    def line_location(self, line_item_id: int) -> int:
        return self.line_locations.get(line_item_id, self.default_location.id)

    def commit(self, order: Order, line: LineItem, quantity: int) -> None:
        """Move ``quantity`` units of a line from available to committed (negative: back)."""
        variant = self.variants.get(line.variant_id) if line.variant_id else None
        if variant is None or not line.requires_shipping or not variant.tracked or not quantity:
            return
        key = (variant.inventory_item_id, self.line_location(line.id))
        self.inventory[key] = self.inventory.get(key, 0) - quantity
        self.committed[key] = self.committed.get(key, 0) + quantity

    def ship_committed(self, line: LineItem, location: int, quantity: int) -> None:
        """A fulfilment: the units leave the shop (committed, hence on hand, drops) at that location."""
        variant = self.variants.get(line.variant_id) if line.variant_id else None
        if variant is None or not line.requires_shipping or not variant.tracked:
            return
        key = (variant.inventory_item_id, location)
        self.committed[key] = self.committed.get(key, 0) - quantity

    def new_order(self, **fields: Any) -> Order:
        now = self.now()
        order = Order(id=self.next_id(), number=next(self._numbers), created_at=now, updated_at=now, **fields)
        order.searchable_at = self.clock.now() + timedelta(seconds=self.search_lag_s)
        self.orders[order.id] = order
        self.changed("ORDERS_CREATE", order)
        return order

    def fulfillment_order(self, fo_id: int) -> tuple[Order, FulfillmentOrder] | None:
        order = self.orders.get(self._fo_orders.get(fo_id, 0))
        if order is None:
            return None
        return order, next(fo for fo in order.fulfillment_orders if fo.id == fo_id)

    def cancel_order(self, order: Order, *, reason: str, refund: bool, staff_note: str | None = None) -> None:
        now = self.now()
        order.cancelled_at, order.cancel_reason, order.closed_at = now, reason, now
        if order.financial_status in ("PAID", "PARTIALLY_PAID") and refund:
            order.financial_status = "REFUNDED"
        elif order.financial_status in ("PENDING", "AUTHORIZED"):
            order.financial_status = "VOIDED"
        if staff_note:
            order.note = f"{order.note}\n{staff_note}" if order.note else staff_note
        for li in order.line_items:  # the unfulfilled rest goes back to available
            self.commit(order, li, -max(0, li.current_quantity - li.fulfilled))
        self.open_fulfillment_orders(order)  # closes what was open; nothing new for a cancelled order
        order.updated_at = now
        self.changed("ORDERS_CANCELLED", order)
        self.changed("ORDERS_UPDATED", order)
