"""Canonical records shared by the engine and every adapter.

Adapters map vendor JSON to these (pure functions in each adapter's ``mapping``) and the engine
only ever sees these. Money and quantities are ``Decimal`` so hashes and comparisons are exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open time range ``[start, end)`` in UTC for delta pulls."""

    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Address:
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    street: str | None = None
    extra_line: str | None = None
    zip: str | None = None
    city: str | None = None
    state: str | None = None
    country_code: str | None = None  # ISO-3166 alpha-2
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class ShopProduct:
    """A sellable unit (a variant, never a parent product)."""

    sku: str
    name: str
    external_id: str  # the shop's id of the sellable unit (variant id where variants exist)
    ean: str | None = None
    net_price: Decimal | None = None
    currency: str | None = None
    weight_kg: Decimal | None = None
    length_m: Decimal | None = None
    width_m: Decimal | None = None
    height_m: Decimal | None = None
    origin_country: str | None = None
    stock_ref: str | None = None  # what the shop needs to set stock (Shopify inventory item id, …)
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class OrderLine:
    line_id: str
    sku: str | None
    name: str
    quantity: int
    unit_price: Decimal = Decimal(0)
    requires_shipping: bool = True
    variant_id: str | None = None


class PaymentState(StrEnum):
    PAID = "paid"
    PARTIALLY_PAID = "partially_paid"
    PENDING = "pending"
    AUTHORIZED = "authorized"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"
    VOIDED = "voided"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class ShopOrder:
    order_id: str  # the shop's stable id
    number: str  # the human order number shown to merchant and customer
    created_at: datetime
    updated_at: datetime
    currency: str
    total: Decimal
    payment_state: PaymentState
    cancelled: bool = False
    # Set by adapters where the shop says so; the gate turns them into never / wait (see eligibility).
    test: bool = False  # a test order: never shipped, reserves no stock
    hold: str | None = None  # the shop holds the order (why, in the shop's words): waits, reserves stock
    payment_method: str | None = None
    shop_status: str | None = None  # the shop's own order status, verbatim
    tags: tuple[str, ...] = ()
    note: str | None = None
    email: str | None = None
    phone: str | None = None
    shipping_address: Address | None = None
    shipping_methods: tuple[str, ...] = ()  # titles/codes of the shipping lines, first is primary
    shipping_fee: Decimal = Decimal(0)
    # The lines the FFN warehouse ships: an adapter leaves out quantities assigned to other locations.
    lines: tuple[OrderLine, ...] = ()


@dataclass(frozen=True, slots=True)
class OrderRef:
    """What a shop adapter needs to write back to one order."""

    order_id: str
    number: str


@dataclass(frozen=True, slots=True)
class Tracking:
    number: str | None
    carrier: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class ShipmentLine:
    quantity: Decimal
    jfsku: str | None = None
    sku: str | None = None  # filled by the engine from its SKU ⇄ jfsku map
    line_id: str | None = None  # the shop's order line, filled by the engine


@dataclass(frozen=True, slots=True)
class Shipment:
    """One FFN shipping notification: one shop fulfilment."""

    shipment_id: str  # outboundShippingNotificationId
    outbound_id: str
    merchant_outbound_number: str
    lines: tuple[ShipmentLine, ...]
    trackings: tuple[Tracking, ...] = ()  # may be empty: shipped without tracking
    shipped_at: datetime | None = None
    outbound_status: str | None = None  # FFN status after this shipment, e.g. PartiallyShipped
    updated_at: datetime | None = None


class OutboundStatus(StrEnum):
    PREPARATION = "Preparation"
    PENDING = "Pending"
    ACKNOWLEDGED = "Acknowledged"
    PICKPROCESS = "Pickprocess"
    LOCKED = "Locked"
    PARTIALLY_SHIPPED = "PartiallyShipped"
    SHIPPED = "Shipped"
    PARTIALLY_CANCELED = "PartiallyCanceled"
    CANCELED = "Canceled"


# Lines ffn-sync itself adds to a shop order's note start with this: they describe what the fulfiller
# did and must never travel back to the fulfiller as if the shop had written them.
OWN_NOTE_PREFIX = "ffn-sync: "


def shop_written_note(note: str | None) -> str | None:
    """The note without the lines ffn-sync added (None when nothing else is left).

    Every note is normalised the same way (line breaks to "\\n", outer blanks stripped), whether or not
    it holds one of our lines: appending our line must leave the result unchanged, or the outbound would
    look edited (a note with "\\r\\n" or a trailing blank would otherwise differ before and after).
    """
    if note is None:
        return None
    kept = [line for line in note.splitlines() if not line.startswith(OWN_NOTE_PREFIX)]
    return "\n".join(kept).strip() or None


# Statuses in which the merchant may still PATCH or cancel an outbound.
EDITABLE_OUTBOUND_STATUSES = frozenset({OutboundStatus.PREPARATION, OutboundStatus.PENDING})
# Statuses no later step leaves: a shop edit can neither be sent nor applied by hand any more.
FINAL_OUTBOUND_STATUSES = frozenset(
    {OutboundStatus.SHIPPED, OutboundStatus.PARTIALLY_CANCELED, OutboundStatus.CANCELED}
)


@dataclass(frozen=True, slots=True)
class OutboundLineState:
    outbound_item_id: str
    jfsku: str | None
    merchant_sku: str | None
    quantity: Decimal
    quantity_open: Decimal


@dataclass(frozen=True, slots=True)
class FulfillerStatus:
    """The fulfiller-side state of one outbound, as seen in FFN."""

    outbound_id: str
    merchant_outbound_number: str
    status: OutboundStatus
    cancel_reason: str | None = None
    lines: tuple[OutboundLineState, ...] = ()
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class OutboundItem:
    outbound_item_id: str
    jfsku: str
    merchant_sku: str
    name: str
    quantity: Decimal
    unit_price: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class Outbound:
    """What the engine asks FFN to ship."""

    outbound_id: str
    merchant_outbound_number: str
    warehouse_id: str
    currency: str
    shipping_address: Address
    items: tuple[OutboundItem, ...]
    shipping_method_id: str | None = None
    order_value: Decimal | None = None
    shipping_fee: Decimal | None = None
    external_number: str | None = None  # the shop's order id
    sales_channel: str | None = None
    external_note: str | None = None
    internal_note: str | None = None
    attributes: tuple[tuple[str, str], ...] = field(default=())


@dataclass(frozen=True, slots=True)
class StockLevel:
    """FFN stock of one product, absolute levels."""

    jfsku: str
    merchant_sku: str | None
    available: Decimal  # FFN stockLevel: available for shipment
    reserved: Decimal = Decimal(0)
    blocked: Decimal = Decimal(0)
    warehouse_id: str | None = None
    version: int | None = None  # stockVersion, ascending per (jfsku, warehouse)
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ShopStock:
    """A quantity to write to one shop for one SKU."""

    sku: str
    quantity: int
    stock_ref: str | None = None
