"""Pure mapping between Admin API JSON (``Accept: application/json``) and the canonical records.

Real shops send ``null`` for unset fields and the sandbox leaves them out; every accessor here
treats both the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from daemon.errors import RecordError
from daemon.model import Address, OrderLine, PaymentState, ShopOrder, ShopProduct
from daemon.ports import MAPPING_ERRORS

Json = Mapping[str, Any]

DEFAULT_CURRENCY_ID = "b7d2554b0ce847cd82f3ac9bd1c0dfca"  # Shopware's Defaults::CURRENCY
MM_PER_M = Decimal(1000)

PAYMENT_STATES: dict[str, PaymentState] = {
    "paid": PaymentState.PAID,
    "paid_partially": PaymentState.PARTIALLY_PAID,
    "authorized": PaymentState.AUTHORIZED,
    "open": PaymentState.PENDING,
    "in_progress": PaymentState.PENDING,
    "unconfirmed": PaymentState.PENDING,
    "reminded": PaymentState.PENDING,
    "refunded": PaymentState.REFUNDED,
    "refunded_partially": PaymentState.PARTIALLY_REFUNDED,
    "cancelled": PaymentState.VOIDED,
    "failed": PaymentState.VOIDED,
}


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def dal_time(when: datetime) -> str:
    """A DAL date literal: naive UTC with milliseconds, the form the DAL compares reliably."""
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def decimal_of(value: Any, default: Decimal | None = None) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return default
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return default


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _name(entity: Json | None) -> str | None:
    if not entity:
        return None
    translated = entity.get("translated") or {}
    return _text(translated.get("name")) or _text(entity.get("name"))


def _state(entity: Json | None) -> str | None:
    state = (entity or {}).get("stateMachineState") or {}
    return _text(state.get("technicalName"))


def _list(value: Any) -> list[Json]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def primary_delivery(order: Json) -> Json | None:
    """6.7 names it (``primaryOrderDeliveryId``); before that, the delivery carrying the highest
    shipping cost is the real one (a shipping-discount promotion adds a negative-cost delivery)."""
    deliveries = _list(order.get("deliveries"))
    wanted = order.get("primaryOrderDeliveryId")
    if wanted:
        for delivery in deliveries:
            if delivery.get("id") == wanted:
                return delivery
    if not deliveries:
        return None

    def cost(delivery: Json) -> Decimal:
        costs = delivery.get("shippingCosts") or {}
        return decimal_of(costs.get("unitPrice"), Decimal(0)) or Decimal(0)

    best = deliveries[0]
    for delivery in deliveries[1:]:
        if cost(delivery) > cost(best):
            best = delivery
    return best


def latest_transaction(order: Json) -> Json | None:
    """6.7's ``primaryOrderTransactionId``, else the newest transaction (a changed payment method
    adds a transaction; the old one stays behind, usually cancelled)."""
    transactions = _list(order.get("transactions"))
    wanted = order.get("primaryOrderTransactionId")
    if wanted:
        for transaction in transactions:
            if transaction.get("id") == wanted:
                return transaction
    if not transactions:
        return None
    epoch = datetime.min.replace(tzinfo=UTC)
    return max(
        enumerate(transactions),
        key=lambda pair: (parse_time(pair[1].get("createdAt")) or epoch, pair[0]),
    )[1]


def map_address(address: Json | None, email: str | None) -> Address | None:
    if not address:
        return None
    country = address.get("country") or {}
    state = address.get("countryState") or {}
    extra = [_text(address.get(k)) for k in ("additionalAddressLine1", "additionalAddressLine2")]
    company = " / ".join(p for p in (_text(address.get("company")), _text(address.get("department"))) if p)
    return Address(
        first_name=_text(address.get("firstName")),
        last_name=_text(address.get("lastName")),
        company=company or None,
        street=_text(address.get("street")),
        extra_line=", ".join(p for p in extra if p) or None,
        zip=_text(address.get("zipcode")),
        city=_text(address.get("city")),
        state=_text(state.get("shortCode")),
        country_code=(_text(country.get("iso")) or "").upper() or None,
        email=email,
        phone=_text(address.get("phoneNumber")),
    )


DOWNLOAD_STATE = "is-download"


def is_physical_line(item: Json) -> bool:
    """A download is a "good" line too: 6.6 marks it with the ``is-download`` state, 6.7 with
    ``payload.productType = "digital"``; only ``good: false`` lines (vouchers, fees) are not goods."""
    payload = item.get("payload") or {}
    states = item.get("states") or []
    if item.get("good") is False or payload.get("productType") == "digital":
        return False
    return not (isinstance(states, list) and DOWNLOAD_STATE in states)


def map_line(item: Json) -> OrderLine:
    payload = item.get("payload") or {}
    quantity = item.get("quantity")
    if not isinstance(quantity, int) or isinstance(quantity, bool):
        raise RecordError(f"order line {item.get('id')}: quantity {quantity!r} is not an integer")
    unit = decimal_of(item.get("unitPrice")) or decimal_of((item.get("price") or {}).get("unitPrice"))
    return OrderLine(
        line_id=str(item.get("id")),
        # The order keeps a snapshot of the product number; it survives later product edits/deletes.
        sku=_text(payload.get("productNumber")),
        name=_text(item.get("label")) or "",
        quantity=quantity,
        unit_price=unit or Decimal(0),
        requires_shipping=is_physical_line(item),
        variant_id=_text(item.get("productId")),
    )


def readable_lines(order: Json) -> tuple[OrderLine, ...]:
    """The product lines that can still be read from an order that cannot be mapped as a whole: they keep
    their stock reserved while the order is parked."""
    lines = []
    for item in _list(order.get("lineItems")) if isinstance(order, dict) else []:
        if isinstance(item, dict) and item.get("type") == "product":
            try:
                lines.append(map_line(item))
            except MAPPING_ERRORS:
                continue
    return tuple(lines)


def _changed_at(order: Json) -> datetime:
    """The latest change anywhere on the order: payment and delivery changes don't bump the order."""
    stamps: list[Any] = [order.get("createdAt"), order.get("updatedAt")]
    for child in (*_list(order.get("deliveries")), *_list(order.get("transactions"))):
        stamps += [child.get("createdAt"), child.get("updatedAt")]
    times = [t for t in (parse_time(s) for s in stamps) if t is not None]
    if not times:
        raise RecordError(f"order {order.get('orderNumber') or order.get('id')}: no createdAt in the answer")
    return max(times)


def map_order(order: Json) -> ShopOrder:
    order_id = _text(order.get("id"))
    if order_id is None:
        raise RecordError(f"order without id in the answer: {str(dict(order))[:200]}")
    number = _text(order.get("orderNumber")) or order_id
    created = parse_time(order.get("createdAt")) or parse_time(order.get("orderDateTime"))
    if created is None:
        raise RecordError(f"order {number}: neither createdAt nor orderDateTime is a date")
    currency = _text((order.get("currency") or {}).get("isoCode"))
    if currency is None:
        raise RecordError(f"order {number}: the currency association is missing (isoCode)")
    customer = order.get("orderCustomer") or {}
    email = _text(customer.get("email"))
    delivery = primary_delivery(order)
    others = [d for d in _list(order.get("deliveries")) if d is not delivery]
    methods = [_name(d.get("shippingMethod")) for d in ([delivery] if delivery else []) + others]
    transaction = latest_transaction(order)
    payment_method = (transaction or {}).get("paymentMethod") or {}
    address = map_address((delivery or {}).get("shippingOrderAddress"), email)
    items = sorted(_list(order.get("lineItems")), key=lambda i: i.get("position") or 0)
    state = _state(order)
    return ShopOrder(
        order_id=order_id,
        number=number,
        created_at=created,
        updated_at=_changed_at(order),
        currency=currency,
        total=decimal_of(order.get("amountTotal"))
        or decimal_of((order.get("price") or {}).get("totalPrice"), Decimal(0))
        or Decimal(0),
        payment_state=PAYMENT_STATES.get(_state(transaction) or "", PaymentState.UNKNOWN),
        cancelled=state == "cancelled",
        payment_method=_text(payment_method.get("technicalName")) or _name(payment_method),
        shop_status=state,
        tags=tuple(sorted(t for t in (_text(tag.get("name")) for tag in _list(order.get("tags"))) if t)),
        note=_text(order.get("customerComment")),
        email=email,
        phone=address.phone if address else None,
        shipping_address=address,
        shipping_methods=tuple(m for m in methods if m),
        shipping_fee=decimal_of(order.get("shippingTotal"))
        or decimal_of((order.get("shippingCosts") or {}).get("totalPrice"), Decimal(0))
        or Decimal(0),
        lines=tuple(map_line(i) for i in items if i.get("type") == "product"),
    )


def is_sellable(product: Json) -> bool:
    """Variants and simple products are sold; a parent with variants is only a container, and a
    digital product (6.7 ``type``, 6.6 ``is-download`` state) never reaches a warehouse."""
    states = product.get("states") or []
    digital = product.get("type") == "digital" or (isinstance(states, list) and DOWNLOAD_STATE in states)
    return not (product.get("childCount") or 0) and not digital


def _net_price(product: Json) -> Decimal | None:
    prices = _list(product.get("price"))
    chosen = next((p for p in prices if p.get("currencyId") == DEFAULT_CURRENCY_ID), None)
    return decimal_of((chosen or {}).get("net")) if chosen else None


def _metres(value: Any) -> Decimal | None:
    mm = decimal_of(value)
    return mm / MM_PER_M if mm is not None and mm > 0 else None


def map_product(product: Json, default_currency: str | None) -> ShopProduct:
    """One sellable unit, read with ``sw-inheritance: 1`` so a variant carries its parent's values."""
    product_id = _text(product.get("id"))
    sku = _text(product.get("productNumber"))
    if product_id is None or sku is None:
        raise RecordError(f"product {product_id or '?'}: productNumber is missing, cannot use it as SKU")
    name = _name(product)
    if name is None:
        raise RecordError(
            f"product {sku}: no name in the answer; a variant needs its parent's name (sw-inheritance: 1)"
        )
    weight = decimal_of(product.get("weight"))
    return ShopProduct(
        sku=sku,
        name=name,
        external_id=product_id,
        ean=_text(product.get("ean")),
        net_price=_net_price(product),
        currency=default_currency if _net_price(product) is not None else None,
        weight_kg=weight if weight is not None and weight > 0 else None,
        length_m=_metres(product.get("length")),
        width_m=_metres(product.get("width")),
        height_m=_metres(product.get("height")),
        stock_ref=product_id,
        updated_at=parse_time(product.get("updatedAt")) or parse_time(product.get("createdAt")),
    )


def merge_tracking_codes(existing: Iterable[Any], new: Sequence[str | None]) -> list[str]:
    """Existing codes first and untouched, then the new ones; no duplicates, no blanks."""
    merged: list[str] = []
    for code in (*existing, *new):
        text = code.strip() if isinstance(code, str) else ""
        if text and text not in merged:
            merged.append(text)
    return merged


def delivery_transition(current: str | None, complete: bool) -> str | None:
    """The transition that brings a delivery to shipped / partially shipped; None when it is
    already there (or further along, e.g. returned, which the connector must not undo)."""
    if current == "open":
        return "ship" if complete else "ship_partially"
    if current == "shipped_partially" and complete:
        return "ship"
    return None


def reached(current: str | None, complete: bool) -> bool:
    """Whether the delivery state already satisfies a (partial) shipment."""
    if complete:
        return current in ("shipped", "returned", "returned_partially")
    return current in ("shipped", "shipped_partially", "returned", "returned_partially")
