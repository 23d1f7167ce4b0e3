"""Outbound (canonical) -> FFN ``CreateOutboundRequest``/``UpdateOutboundRequest``; FFN ``Outbound`` ->
FulfillerStatus."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.ffn.mapping.common import dec, num, parse_dt
from daemon.errors import RecordError
from daemon.model import Address, FulfillerStatus, Outbound, OutboundLineState, OutboundStatus

# The spec's limits: notes are ``maxLength 4096``; address texts are capped at 255 in FFN's ``Address``.
NOTE_MAX = 4096
TEXT_MAX = 255


def _clean(value: str | None, limit: int = TEXT_MAX) -> str | None:
    value = (value or "").strip()
    return truncate(value, limit) or None


def utf16_length(value: str) -> int:
    """The length FFN checks: .NET strings count UTF-16 code units, so an emoji counts twice."""
    return len(value.encode("utf-16-le")) // 2


def truncate(value: str | None, limit: int) -> str | None:
    """At most ``limit`` UTF-16 units; a cut text ends in '…' so the reader sees it was cut."""
    if value is None or utf16_length(value) <= limit:
        return value
    kept, used = [], 1  # the ellipsis is one unit
    for char in value:
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            break
        kept.append(char)
    return "".join(kept) + "…"


def address_body(address: Address, order_label: str) -> dict[str, Any]:
    """``CreateAddressRequest``; FFN needs street, city, country and one of company or lastname."""
    missing = [
        name
        for name, value in (
            ("street", address.street),
            ("city", address.city),
            ("country", address.country_code),
        )
        if not _clean(value)
    ]
    if missing:
        raise RecordError(
            f"order {order_label}: the shipping address has no {', '.join(missing)}; "
            "complete the address in the shop"
        )
    if not _clean(address.company) and not _clean(address.last_name):
        raise RecordError(
            f"order {order_label}: FFN needs a company or a last name in the shipping address; "
            "add one in the shop"
        )
    body: dict[str, Any] = {
        "firstname": _clean(address.first_name),
        "lastname": _clean(address.last_name),
        "company": _clean(address.company),
        "street": _clean(address.street),
        "extraAddressLine": _clean(address.extra_line),
        "zip": _clean(address.zip),
        "city": _clean(address.city),
        "state": _clean(address.state),
        "country": (address.country_code or "").strip().upper(),
        "email": _clean(address.email),
        "phone": _clean(address.phone),
    }
    return {k: v for k, v in body.items() if v is not None}


def _items(outbound: Outbound) -> list[dict[str, Any]]:
    if not outbound.items:
        raise RecordError(f"order {outbound.merchant_outbound_number}: no shippable items")
    return [
        {
            "outboundItemId": item.outbound_item_id,
            "jfsku": item.jfsku,
            "merchantSku": item.merchant_sku,
            "itemType": "Product",
            "name": truncate(item.name, TEXT_MAX) if item.name else None,
            "quantity": num(item.quantity),
            "price": num(item.unit_price),
        }
        for item in outbound.items
    ]


def _common(outbound: Outbound) -> dict[str, Any]:
    body: dict[str, Any] = {
        "warehouseId": outbound.warehouse_id,
        "currency": outbound.currency.upper(),
        "salesChannel": outbound.sales_channel,
        # A long customer comment must not park the order: FFN refuses notes over 4096 characters.
        "externalNote": truncate(outbound.external_note, NOTE_MAX),
        "internalNote": truncate(outbound.internal_note, NOTE_MAX),
        "externalNumber": truncate(outbound.external_number, TEXT_MAX),
        "shippingMethodId": outbound.shipping_method_id,
        "shippingFee": num(outbound.shipping_fee),
        "orderValue": num(outbound.order_value),
        "shippingAddress": address_body(outbound.shipping_address, outbound.merchant_outbound_number),
        "items": _items(outbound),
    }
    if outbound.attributes:
        body["attributes"] = [
            {"key": k, "value": v, "attributeType": "String"} for k, v in outbound.attributes
        ]
    return {k: v for k, v in body.items() if v is not None}


def create_outbound_body(outbound: Outbound) -> dict[str, Any]:
    return {
        "outboundId": outbound.outbound_id,
        "merchantOutboundNumber": outbound.merchant_outbound_number,
        **_common(outbound),
    }


def update_outbound_body(outbound: Outbound) -> dict[str, Any]:
    """Everything the merchant may change; ids stay as they are."""
    return _common(outbound)


def fulfiller_status(doc: Mapping[str, Any]) -> FulfillerStatus:
    """An FFN ``Outbound`` as the engine sees it."""
    lines = tuple(
        OutboundLineState(
            outbound_item_id=str(item.get("outboundItemId", "")),
            jfsku=item.get("jfsku"),
            merchant_sku=item.get("merchantSku"),
            quantity=dec(item.get("quantity")),
            quantity_open=dec(item.get("quantityOpen")),
        )
        for item in doc.get("items") or []
    )
    info = doc.get("modificationInfo") or {}
    return FulfillerStatus(
        outbound_id=str(doc["outboundId"]),
        merchant_outbound_number=str(doc.get("merchantOutboundNumber", "")),
        status=OutboundStatus(doc["status"]),
        cancel_reason=doc.get("cancelReason") or None,
        lines=lines,
        updated_at=parse_dt(info.get("updatedAt")) or parse_dt(info.get("createdAt")),
    )
