"""Shop order → FFN outbound. Pure; every refusal names the order and what to fix.

Hygiene at this boundary: the country becomes ISO 3166-1 alpha-2 (or the order is refused), a line to ship
with a negative quantity refuses the order (it is parked with the reason, not silently shortened); a line at
0 was removed or fully refunded in the shop and is left out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal

from daemon.engine.hygiene import UnknownCountry, country_code
from daemon.engine.settings import ChannelSettings
from daemon.errors import RecordError
from daemon.ids import merchant_outbound_number, outbound_id
from daemon.model import Outbound, OutboundItem, ShopOrder

REASON_MISSING_SKU = "missing_sku"
REASON_UNKNOWN_SKU = "unknown_sku"
REASON_SHIPPING_METHOD = "unmapped_shipping_method"
REASON_ADDRESS = "incomplete_address"
REASON_COUNTRY = "unknown_country"
REASON_QUANTITY = "invalid_quantity"
ITEM_NAME_LIMIT = 255


class OrderRefused(RecordError):
    def __init__(self, reason_code: str, message: str) -> None:
        super().__init__(message, vendor_code=reason_code)
        self.reason_code = reason_code


def build_outbound(
    order: ShopOrder,
    channel: ChannelSettings,
    *,
    ffn_merchant_id: str,
    warehouse_id: str,
    jfsku_by_sku: Mapping[str, str],
) -> Outbound:
    number = merchant_outbound_number(channel.order_prefix, order.number)
    items: list[OutboundItem] = []
    for position, line in enumerate(order.lines, start=1):
        if not line.requires_shipping or line.quantity == 0:
            continue  # 0: removed from the order or fully refunded in the shop
        if line.quantity < 0:
            raise OrderRefused(
                REASON_QUANTITY,
                f"order {number}: line {position} ({line.name!r}, SKU {line.sku!r}) has quantity {line.quantity}; "
                "fix the order in the shop (remove the line or correct the quantity), then retry",
            )
        if not line.sku:
            raise OrderRefused(
                REASON_MISSING_SKU,
                f"order {number}: line {position} ({line.name!r}) has no SKU; set the SKU in the shop, then retry",
            )
        jfsku = jfsku_by_sku.get(line.sku)
        if jfsku is None:
            raise OrderRefused(
                REASON_UNKNOWN_SKU,
                f"order {number}: SKU {line.sku!r} is not a product in FFN yet; "
                "it is retried automatically once the products flow has created it",
            )
        items.append(
            OutboundItem(
                outbound_item_id=str(position),
                jfsku=jfsku,
                merchant_sku=line.sku,
                name=line.name[:ITEM_NAME_LIMIT],
                quantity=Decimal(line.quantity),
                unit_price=line.unit_price,
            )
        )
    method = channel.shipping_method_for(order.shipping_methods)
    if method is None:
        shown = ", ".join(repr(t) for t in order.shipping_methods) or "none"
        raise OrderRefused(
            REASON_SHIPPING_METHOD,
            f"order {number}: shipping method {shown} is not mapped to an FFN shipping method "
            f"and channel {channel.name!r} has no default; add it to [channels.shipping.map]",
        )
    address = order.shipping_address
    if address is None or not (address.street and address.city and address.country_code):
        raise OrderRefused(
            REASON_ADDRESS,
            f"order {number}: shipping address lacks street, city or country; fix it in the shop",
        )
    if not (address.last_name or address.company):
        raise OrderRefused(REASON_ADDRESS, f"order {number}: shipping address needs a last name or a company")
    try:
        address = replace(address, country_code=country_code(address.country_code))
    except UnknownCountry as exc:
        raise OrderRefused(
            REASON_COUNTRY,
            f"order {number}: shipping address: {exc}; set the country in the shop, then retry",
        ) from None
    if address.email is None and order.email:
        address = replace(address, email=order.email, phone=address.phone or order.phone)
    return Outbound(
        outbound_id=outbound_id(ffn_merchant_id, channel.name, order.order_id),
        merchant_outbound_number=number,
        warehouse_id=warehouse_id,
        currency=order.currency,
        shipping_address=address,
        items=tuple(items),
        shipping_method_id=method,
        order_value=order.total,
        shipping_fee=order.shipping_fee,
        external_number=order.order_id,
        sales_channel=channel.name,
        external_note=order.note,
    )
