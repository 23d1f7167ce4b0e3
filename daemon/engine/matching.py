"""Match an FFN shipping notification (jfsku lines) to the shop order's lines; trackings made safe for shops."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal

from loguru import logger

from daemon.engine.hygiene import clean_shipment
from daemon.errors import RecordError
from daemon.model import Shipment, ShipmentLine, ShopOrder


def match_shipment(shipment: Shipment, order: ShopOrder, sku_by_jfsku: Mapping[str, str]) -> Shipment:
    """Fill ``sku`` and ``line_id`` on every shipment line.

    FFN items carry only the jfsku; the SKU comes from the map and the order line from the SKU. When
    several order lines share a SKU the quantity is spread over them in order.
    """
    remaining = {line.line_id: Decimal(line.quantity) for line in order.lines if line.requires_shipping}
    matched: list[ShipmentLine] = []
    for item in shipment.lines:
        sku = item.sku or (sku_by_jfsku.get(item.jfsku) if item.jfsku else None)
        if sku is None:
            raise RecordError(
                f"shipment {shipment.shipment_id} of order {shipment.merchant_outbound_number}: jfsku {item.jfsku} "
                "is not mapped to a SKU; run the products flow or check the product in FFN"
            )
        candidates = [line for line in order.lines if line.sku == sku and line.line_id in remaining]
        if not candidates:
            raise RecordError(
                f"shipment {shipment.shipment_id} of order {shipment.merchant_outbound_number}: SKU {sku!r} "
                "is not on the shop order (edited after export?); fulfil it by hand in the shop"
            )
        quantity = item.quantity
        for line in candidates:
            if quantity <= 0:
                break
            take = min(quantity, remaining[line.line_id]) if line is not candidates[-1] else quantity
            if take <= 0:
                continue
            remaining[line.line_id] -= take
            quantity -= take
            matched.append(replace(item, sku=sku, line_id=line.line_id, quantity=take))
    cleaned, dropped = clean_shipment(replace(shipment, lines=tuple(matched)))
    for what in dropped:
        logger.warning(
            "shipment {} of order {}: {} dropped",
            shipment.shipment_id,
            shipment.merchant_outbound_number,
            what,
        )
    return cleaned
