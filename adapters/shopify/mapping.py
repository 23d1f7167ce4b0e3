"""Pure mapping: Shopify Admin GraphQL nodes ⇄ canonical records. No I/O, no clock."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from adapters.shopify.gate import LocationShare, shipped_quantity
from daemon.errors import RecordError
from daemon.model import Address, OrderLine, PaymentState, ShopOrder, ShopProduct
from daemon.ports import MAPPING_ERRORS

Node = Mapping[str, Any]

PAYMENT_STATES: dict[str, PaymentState] = {
    "PAID": PaymentState.PAID,
    "PARTIALLY_PAID": PaymentState.PARTIALLY_PAID,
    "PENDING": PaymentState.PENDING,
    "AUTHORIZED": PaymentState.AUTHORIZED,
    "REFUNDED": PaymentState.REFUNDED,
    "PARTIALLY_REFUNDED": PaymentState.PARTIALLY_REFUNDED,
    "VOIDED": PaymentState.VOIDED,
    # An expired authorization collects nothing, like a voided one.
    "EXPIRED": PaymentState.VOIDED,
}
_KG_PER_UNIT = {
    "KILOGRAMS": Decimal(1),
    "GRAMS": Decimal("0.001"),
    "POUNDS": Decimal("0.45359237"),
    "OUNCES": Decimal("0.028349523125"),
}


class MappingError(RecordError, ValueError):
    """A Shopify node lacks something the canonical record cannot do without (a ``ValueError`` too, as
    callers catching a bad value expect)."""


def parse_time(value: str | None, what: str) -> datetime:
    if not value:
        raise MappingError(f"{what} is missing")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MappingError(f"{what} is not an ISO timestamp: {value!r}") from None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def shopify_time(value: datetime) -> str:
    """A timestamp for a ``query:`` filter: UTC with ``Z``, whole seconds (quote it in the query)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def decimal(value: Any, what: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise MappingError(f"{what} is not a number: {value!r}") from None


def money(bag: Node | None, what: str) -> Decimal:
    """The shop-currency amount of a ``MoneyBag`` (0 when absent)."""
    if not bag:
        return Decimal(0)
    return decimal((bag.get("shopMoney") or {}).get("amount", 0), what)


def payment_state(display_financial_status: str | None) -> PaymentState:
    # New enum values appear over time; unknown is not an error.
    return PAYMENT_STATES.get(display_financial_status or "", PaymentState.UNKNOWN)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def map_address(node: Node | None, *, email: str | None = None, phone: str | None = None) -> Address | None:
    if not node:
        return None
    return Address(
        first_name=_text(node.get("firstName")),
        last_name=_text(node.get("lastName")),
        company=_text(node.get("company")),
        street=_text(node.get("address1")),
        extra_line=_text(node.get("address2")),
        zip=_text(node.get("zip")),
        city=_text(node.get("city")),
        state=_text(node.get("provinceCode")) or _text(node.get("province")),
        country_code=_text(node.get("countryCodeV2")),
        email=_text(email),
        phone=_text(node.get("phone")) or _text(phone),
    )


def map_line(node: Node) -> OrderLine:
    """``currentQuantity`` is what is left to ship: edits and refunds lower it, ``quantity`` never changes."""
    variant = node.get("variant") or {}
    return OrderLine(
        line_id=str(node["id"]),
        sku=_text(node.get("sku")),
        name=str(node.get("name") or ""),
        quantity=int(node.get("currentQuantity", node.get("quantity", 0))),
        unit_price=money(node.get("originalUnitPriceSet"), f"line {node.get('id')} price"),
        requires_shipping=bool(node.get("requiresShipping", True)),
        variant_id=_text(variant.get("id")),
    )


def fulfillment_order_lines(fulfillment_orders: Iterable[Node]) -> list[dict[str, Any]]:
    """The order's lines as its fulfillment orders at the FFN location carry them (the read asks for them
    there, not through ``Order.lineItems``), each once even when a split puts it on two of them."""
    seen: dict[str, dict[str, Any]] = {}
    for fo in fulfillment_orders:
        for fo_line in (fo.get("lineItems") or {}).get("nodes") or []:
            line = fo_line.get("lineItem")
            if isinstance(line, dict) and line.get("id") is not None:
                seen.setdefault(str(line["id"]), line)
    return list(seen.values())


def ensure_every_line_read(fulfillment_orders: Iterable[Node]) -> None:
    """A fulfillment order whose lines did not all come in (its line pages are read one after another;
    Shopify stopped answering them) would ship short: the order is parked instead."""
    for fo in fulfillment_orders:
        if ((fo.get("lineItems") or {}).get("pageInfo") or {}).get("hasNextPage"):
            raise MappingError(
                f"fulfillment order {fo.get('id')} at the FFN location: not all of its lines could be read"
                " (Shopify stopped answering its line pages); it is read again when it changes, or run"
                " `ffn-sync retry`"
            )


def readable_lines(
    node: Node, extra_lines: Sequence[Node] = (), share: LocationShare | None = None
) -> tuple[OrderLine, ...]:
    """The lines that can still be read from an order that cannot be mapped as a whole (counted as far
    as the FFN location carries them): they keep their stock reserved while the order is parked."""
    lines = []
    for line_node in [*((node.get("lineItems") or {}).get("nodes") or []), *extra_lines]:
        try:
            line = map_line(line_node)
        except MAPPING_ERRORS:
            continue
        if share is not None and line.requires_shipping:
            line = replace(line, quantity=shipped_quantity(line.line_id, line.quantity, share))
        if line.quantity > 0:
            lines.append(line)
    return tuple(lines)


def shipping_methods(nodes: Iterable[Node]) -> tuple[str, ...]:
    """Titles in order (the first is the primary method), then codes that differ from every title."""
    lines = list(nodes)
    titles = [t for t in (_text(n.get("title")) for n in lines) if t]
    codes = [c for c in (_text(n.get("code")) for n in lines) if c and c not in titles]
    return tuple(dict.fromkeys([*titles, *codes]))


def order_number(name: str) -> str:
    # "#1001" -> "1001"; merchants may configure other prefixes/suffixes, which are kept.
    return name[1:] if name.startswith("#") else name


def map_order(
    node: Node,
    extra_lines: Sequence[Node] = (),
    *,
    share: LocationShare | None = None,
    hold: str | None = None,
    test: bool = False,
) -> ShopOrder:
    """One ``Order`` node (lines inline, plus any fetched separately) as a ``ShopOrder``.

    Lines whose ``currentQuantity`` is 0 (removed by an edit, or refunded) are left out. With ``share`` (the
    fulfillment orders at the FFN location, ``gate.py``) a shippable line counts only as far as those carry it;
    ``hold`` (why Shopify holds it) and ``test`` are the gate's inputs (``daemon.engine.eligibility``).
    """
    order_id = node.get("id")
    if not order_id:
        raise MappingError("order without id")
    what = f"order {order_id}"
    total_bag = node.get("currentTotalPriceSet") or node.get("totalPriceSet")
    currency = node.get("currencyCode") or ((total_bag or {}).get("shopMoney") or {}).get("currencyCode")
    if not currency:
        raise MappingError(f"{what}: currencyCode is missing")
    line_nodes = [*((node.get("lineItems") or {}).get("nodes") or []), *extra_lines]
    mapped = [map_line(n) for n in line_nodes]
    if share is not None:
        mapped = [
            replace(line, quantity=shipped_quantity(line.line_id, line.quantity, share))
            if line.requires_shipping
            else line
            for line in mapped
        ]
    lines = tuple(line for line in mapped if line.quantity > 0)
    gateways = node.get("paymentGatewayNames") or []
    email = _text(node.get("email"))
    phone = _text(node.get("phone"))
    return ShopOrder(
        order_id=str(order_id),
        number=order_number(str(node.get("name") or "")),
        created_at=parse_time(node.get("createdAt"), f"{what}: createdAt"),
        updated_at=parse_time(node.get("updatedAt"), f"{what}: updatedAt"),
        currency=str(currency),
        total=money(total_bag, f"{what}: total"),
        payment_state=payment_state(node.get("displayFinancialStatus")),
        cancelled=node.get("cancelledAt") is not None,
        payment_method=_text(gateways[0]) if gateways else None,
        shop_status=_text(node.get("displayFulfillmentStatus")),
        tags=tuple(str(t) for t in node.get("tags") or ()),
        note=_text(node.get("note")),
        email=email,
        phone=phone,
        shipping_address=map_address(node.get("shippingAddress"), email=email, phone=phone),
        shipping_methods=shipping_methods((node.get("shippingLines") or {}).get("nodes") or ()),
        shipping_fee=money(
            node.get("currentShippingPriceSet") or node.get("totalShippingPriceSet"), f"{what}: shipping"
        ),
        lines=lines,
        hold=hold,
        test=test,
    )


def weight_kg(weight: Node | None) -> Decimal | None:
    if not weight or weight.get("value") is None:
        return None
    factor = _KG_PER_UNIT.get(str(weight.get("unit")))
    if factor is None:
        return None
    return (decimal(weight["value"], "weight") * factor).quantize(Decimal("0.000001")).normalize()


def variant_skip_reason(node: Node) -> str | None:
    """Why a variant cannot become a product in the fulfiller, or None when it can."""
    if not _text(node.get("sku")):
        return "variant has no SKU"
    if (node.get("inventoryItem") or {}).get("requiresShipping") is False:
        return "variant does not require shipping (digital or service)"
    return None


def variant_name(node: Node) -> str:
    product_title = _text((node.get("product") or {}).get("title"))
    title = _text(node.get("title"))
    if product_title and title and title != "Default Title":
        return f"{product_title} - {title}"
    return product_title or title or str(node.get("sku"))


def map_variant(node: Node, currency: str | None) -> ShopProduct:
    item = node.get("inventoryItem") or {}
    sku = _text(node.get("sku"))
    if sku is None:
        raise MappingError(f"variant {node.get('id')} has no SKU")
    return ShopProduct(
        sku=sku,
        name=variant_name(node),
        external_id=str(node["id"]),
        ean=_text(node.get("barcode")),
        net_price=decimal(node["price"], f"variant {node['id']} price")
        if node.get("price") is not None
        else None,
        currency=currency,
        weight_kg=weight_kg((item.get("measurement") or {}).get("weight")),
        origin_country=_text(item.get("countryCodeOfOrigin")),
        stock_ref=_text(item.get("id")),
        updated_at=parse_time(node["updatedAt"], f"variant {node['id']} updatedAt")
        if node.get("updatedAt")
        else None,
    )
