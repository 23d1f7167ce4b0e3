"""Pure mapping between WooCommerce REST v3 JSON and the canonical records.

Dates come from the ``*_gmt`` fields only (naive UTC strings); the local ``date_*`` twins depend on
the site's timezone setting. Line SKUs are taken as WooCommerce shows them *now* (it looks them up
live from the product), so the engine keeps the snapshot of the first import.
"""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from daemon.errors import RecordError
from daemon.model import Address, OrderLine, PaymentState, ShopOrder, ShopProduct, Window
from daemon.ports import MAPPING_ERRORS

TAGS_META_KEY = "ffn_tags"
PAID_STATUSES = frozenset({"processing", "completed"})
CANCELLED_STATUSES = frozenset({"cancelled", "refunded", "failed", "trash"})
_WEIGHT_TO_KG = {
    "kg": Decimal(1),
    "g": Decimal("0.001"),
    "lbs": Decimal("0.45359237"),
    "oz": Decimal("0.028349523125"),
}
_LENGTH_TO_M = {
    "m": Decimal(1),
    "cm": Decimal("0.01"),
    "mm": Decimal("0.001"),
    "in": Decimal("0.0254"),
    "yd": Decimal("0.9144"),
}
WEIGHT_UNITS = frozenset(_WEIGHT_TO_KG)
LENGTH_UNITS = frozenset(_LENGTH_TO_M)


# dates -------------------------------------------------------------------------------------------
def parse_gmt(value: Any) -> datetime | None:
    """A ``*_gmt`` value (``YYYY-MM-DDTHH:MM:SS``, UTC without suffix) as an aware datetime."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ValueError(f"expected a date string, got {type(value).__name__}")
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def format_gmt(moment: datetime) -> str:
    """A filter value WooCommerce compares correctly with ``dates_are_gmt=true``: naive UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat(timespec="seconds")


def window_bounds(window: Window) -> tuple[datetime, datetime]:
    """(``modified_after``, ``modified_before``) covering the half-open window ``[start, end)``.

    Both bounds are exclusive and whole seconds in WordPress, so the lower one steps a second back
    (a row at exactly ``start`` is included); a row in the end's second comes with the next window.
    """
    start = window.start.astimezone(UTC).replace(microsecond=0) - timedelta(seconds=1)
    return start, window.end.astimezone(UTC)


# small field helpers ------------------------------------------------------------------------------
def meta_entry(meta: Any, key: str) -> dict[str, Any] | None:
    if not isinstance(meta, list):
        return None
    return next((m for m in meta if isinstance(m, dict) and m.get("key") == key), None)


def meta_value(meta: Any, key: str) -> Any:
    entry = meta_entry(meta, key)
    return entry.get("value") if entry is not None else None


def _decimal(value: Any, what: str) -> Decimal:
    if value in (None, ""):
        return Decimal(0)
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{what} is not a number: {value!r}") from None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def parse_tags(value: Any) -> tuple[str, ...]:
    if isinstance(value, list):
        items = [str(v) for v in value]
    elif isinstance(value, str):
        items = value.split(",")
    else:
        return ()
    return tuple(t.strip() for t in items if t.strip())


# orders ------------------------------------------------------------------------------------------
def payment_state(order: Mapping[str, Any]) -> PaymentState:
    status = order.get("status")
    if status == "refunded":
        return PaymentState.REFUNDED
    # Cash on delivery orders are "processing" without a payment date: ready to ship all the same.
    if order.get("date_paid_gmt") or status in PAID_STATUSES:
        return PaymentState.PAID
    return PaymentState.PENDING


def address(raw: Any, *, email: str | None, phone: str | None) -> Address | None:
    if not isinstance(raw, dict) or not any(raw.get(k) for k in ("address_1", "city", "postcode")):
        return None
    return Address(
        first_name=_text(raw.get("first_name")),
        last_name=_text(raw.get("last_name")),
        company=_text(raw.get("company")),
        street=_text(raw.get("address_1")),
        extra_line=_text(raw.get("address_2")),
        zip=_text(raw.get("postcode")),
        city=_text(raw.get("city")),
        state=_text(raw.get("state")),
        country_code=_text(raw.get("country")),
        email=email,
        phone=phone,
    )


def unit_id(item: Mapping[str, Any]) -> int:
    """The sellable unit of a line: the variation when there is one."""
    return int(item.get("variation_id") or item.get("product_id") or 0)


def order_line(
    item: Mapping[str, Any], virtual_units: Container[int], refunded: Mapping[str, int] | None = None
) -> OrderLine:
    unit = unit_id(item)
    line_id = str(item["id"])
    return OrderLine(
        line_id=line_id,
        sku=_text(item.get("sku")),
        name=str(item.get("name") or ""),
        quantity=max(0, int(item.get("quantity") or 0) - (refunded or {}).get(line_id, 0)),
        unit_price=_decimal(item.get("price"), "price"),
        requires_shipping=unit not in virtual_units,
        variant_id=str(unit) if unit else None,
    )


def readable_lines(data: Mapping[str, Any], virtual_units: Container[int]) -> tuple[OrderLine, ...]:
    """The lines that can still be read from an order that cannot be mapped as a whole (refunds not
    subtracted): they keep their stock reserved while the order is parked."""
    lines = []
    for item in data.get("line_items") or []:
        try:
            lines.append(order_line(item, virtual_units))
        except MAPPING_ERRORS:
            continue
    return tuple(lines)


def shipping_methods(lines: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """Every shipping line's title (the first is primary), then their method ids for mapping by code."""
    titles = [str(s["method_title"]) for s in lines if s.get("method_title")]
    codes = [str(s["method_id"]) for s in lines if s.get("method_id")]
    return tuple(dict.fromkeys([*titles, *codes]))


def refunded_quantities(refunds: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Per order line id, the units refunded (``GET /orders/{id}/refunds``). A refund's lines carry
    negative quantities and name the order line in their ``_refunded_item_id`` meta."""
    totals: dict[str, int] = {}
    for refund in refunds:
        for line in refund.get("line_items") or []:
            target = line.get("refunded_item_id") or meta_value(line.get("meta_data"), "_refunded_item_id")
            if target in (None, ""):
                raise ValueError(f"refund {refund.get('id')} has a line without _refunded_item_id")
            key = str(target)
            totals[key] = totals.get(key, 0) + abs(int(line.get("quantity") or 0))
    return totals


def order_from_wc(
    data: Mapping[str, Any],
    virtual_units: Container[int] = frozenset(),
    refunded: Mapping[str, int] | None = None,
) -> ShopOrder:
    """One ``GET /orders`` row (``refunded``: units refunded per line id, subtracted from the lines);
    a missing or malformed field raises ``RecordError`` naming it."""
    order_id = data.get("id", "?")
    try:
        return _order_from_wc(data, virtual_units, refunded or {})
    except (KeyError, TypeError, ValueError) as exc:
        raise RecordError(f"WooCommerce order {order_id}: {exc!s}", upstream="woocommerce") from None


def _order_from_wc(
    data: Mapping[str, Any], virtual_units: Container[int], refunded: Mapping[str, int]
) -> ShopOrder:
    billing = data.get("billing") or {}
    shipping = data.get("shipping") or {}
    email = _text(billing.get("email"))
    phone = _text(shipping.get("phone")) or _text(billing.get("phone"))
    # Orders without a shipping address (shipping disabled, local pickup) carry it in billing only.
    ship_to = address(shipping, email=email, phone=phone) or address(billing, email=email, phone=phone)
    created = parse_gmt(data["date_created_gmt"])
    if created is None:
        raise ValueError("date_created_gmt is empty")
    status = str(data.get("status") or "")
    return ShopOrder(
        order_id=str(data["id"]),
        number=str(data.get("number") or data["id"]),
        created_at=created,
        updated_at=parse_gmt(data.get("date_modified_gmt")) or created,
        currency=str(data.get("currency") or ""),
        total=_decimal(data.get("total"), "total"),
        payment_state=payment_state(data),
        cancelled=status in CANCELLED_STATUSES,
        payment_method=_text(data.get("payment_method")),
        shop_status=status or None,
        tags=parse_tags(meta_value(data.get("meta_data"), TAGS_META_KEY)),
        note=_text(data.get("customer_note")),
        email=email,
        phone=phone,
        shipping_address=ship_to,
        shipping_methods=shipping_methods(data.get("shipping_lines") or []),
        shipping_fee=_decimal(data.get("shipping_total"), "shipping_total"),
        lines=tuple(order_line(item, virtual_units, refunded) for item in data.get("line_items") or []),
    )


# products ----------------------------------------------------------------------------------------
def stock_ref(product_id: int, parent_id: int = 0) -> str:
    """``"{id}"`` for a product, ``"{parent}/{id}"`` for a variation (variations batch per parent)."""
    return f"{parent_id}/{product_id}" if parent_id else str(product_id)


def parse_stock_ref(ref: str | None) -> tuple[int, int] | None:
    """(product or variation id, parent id or 0); None when absent or not ours."""
    if not ref:
        return None
    head, _, tail = ref.partition("/")
    try:
        return (int(tail), int(head)) if tail else (int(head), 0)
    except ValueError:
        return None


def ean_of(data: Mapping[str, Any], ean_meta_key: str | None) -> str | None:
    if ean_meta_key:
        return _text(meta_value(data.get("meta_data"), ean_meta_key))
    return _text(data.get("global_unique_id"))


def _measures(data: Mapping[str, Any], weight_unit: str, dimension_unit: str) -> dict[str, Decimal | None]:
    def scaled(value: Any, factor: Decimal, what: str) -> Decimal | None:
        amount = _decimal(value, what)
        return amount * factor if amount else None

    dims = data.get("dimensions") or {}
    to_m = _LENGTH_TO_M[dimension_unit]
    return {
        "weight_kg": scaled(data.get("weight"), _WEIGHT_TO_KG[weight_unit], "weight"),
        "length_m": scaled(dims.get("length"), to_m, "dimensions.length"),
        "width_m": scaled(dims.get("width"), to_m, "dimensions.width"),
        "height_m": scaled(dims.get("height"), to_m, "dimensions.height"),
    }


def product_from_wc(
    data: Mapping[str, Any],
    parent: Mapping[str, Any] | None = None,
    *,
    ean_meta_key: str | None = None,
    weight_unit: str = "kg",
    dimension_unit: str = "cm",
) -> ShopProduct | None:
    """A simple product, or a variation (with its ``parent``); None for what FFN cannot stock:
    variable parents, grouped/external products, virtual units and units without a SKU."""
    kind = data.get("type", "variation" if parent is not None else "simple")
    if kind not in ("simple", "variation") or data.get("virtual") or not _text(data.get("sku")):
        return None
    try:
        parent_id = int(parent["id"]) if parent is not None else int(data.get("parent_id") or 0)
        name = str(data.get("name") or "")
        if parent is not None:
            options = " / ".join(
                str(a.get("option")) for a in data.get("attributes") or [] if a.get("option")
            )
            name = f"{parent.get('name', '')} - {options}" if options else str(parent.get("name", ""))
        price = data.get("regular_price") or data.get("price")
        measures = _measures(data, weight_unit, dimension_unit)
        return ShopProduct(
            sku=str(data["sku"]).strip(),
            name=name,
            external_id=str(data["id"]),
            ean=ean_of(data, ean_meta_key),
            net_price=_decimal(price, "regular_price") if price not in (None, "") else None,
            weight_kg=measures["weight_kg"],
            length_m=measures["length_m"],
            width_m=measures["width_m"],
            height_m=measures["height_m"],
            stock_ref=stock_ref(int(data["id"]), parent_id if kind == "variation" else 0),
            updated_at=parse_gmt(data.get("date_modified_gmt")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise RecordError(f"WooCommerce product {data.get('id', '?')}: {exc!s}") from None


# write-back --------------------------------------------------------------------------------------
def tracking_payload(
    number: str, carrier: str | None, url: str | None, shipped_at: datetime | None
) -> dict[str, Any]:
    """A Shipment Tracking extension item. A link only survives with a custom provider."""
    body: dict[str, Any] = {"tracking_number": number}
    if url:
        body["custom_tracking_provider"] = carrier or "Carrier"
        body["custom_tracking_link"] = url
    else:
        body["tracking_provider"] = carrier or ""
    if shipped_at is not None:
        body["date_shipped"] = shipped_at.astimezone(UTC).date().isoformat()
    return body


def shipment_note(trackings: Sequence[tuple[str | None, str | None, str | None]], *, complete: bool) -> str:
    """The customer note of the notes fallback: one line per parcel (number, carrier, link)."""
    head = "Your order has been shipped." if complete else "Part of your order has been shipped."
    parts = []
    for number, carrier, url in trackings:
        if not number:
            continue
        text = f"{carrier}: {number}" if carrier else number
        parts.append(f"{text} ({url})" if url else text)
    return f"{head} Tracking: {', '.join(parts)}" if parts else head


def shipped_quantities(
    line_items: Sequence[Mapping[str, Any]],
    already: Mapping[str, int],
    shipped: Sequence[tuple[str | None, str | None, int]],
) -> dict[str, int]:
    """Per order line id, what has left the warehouse so far; ``shipped`` is (line id, SKU, qty).

    A shipment line without a line id is matched by SKU to the first line that still has room.
    """
    totals = {str(k): int(v) for k, v in already.items()}
    ordered = {str(i["id"]): int(i.get("quantity") or 0) for i in line_items}
    for line_id, sku, quantity in shipped:
        target = line_id if line_id in ordered else None
        if target is None and sku:
            candidates = [str(i["id"]) for i in line_items if i.get("sku") == sku]
            target = next((c for c in candidates if totals.get(c, 0) < ordered[c]), None)
            target = target or (candidates[0] if candidates else None)
        if target is not None:
            totals[target] = totals.get(target, 0) + quantity
    return totals


def fully_shipped(
    line_items: Sequence[Mapping[str, Any]], shipped: Mapping[str, int], virtual_units: Container[int]
) -> bool:
    return all(
        shipped.get(str(item["id"]), 0) >= int(item.get("quantity") or 0)
        for item in line_items
        if unit_id(item) not in virtual_units
    )


def add_tag(value: Any, tag: str) -> str:
    tags = parse_tags(value)
    return ",".join(tags if tag in tags else (*tags, tag))
