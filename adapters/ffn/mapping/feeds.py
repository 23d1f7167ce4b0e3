"""FFN feed payloads -> Shipment / StockLevel; shipping methods -> carrier information."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from adapters.ffn.mapping.common import dec, parse_dt
from daemon.model import Shipment, ShipmentLine, StockLevel, Tracking

TRACKING_PLACEHOLDER = "#TrackingId#"


@dataclass(frozen=True, slots=True)
class Carrier:
    name: str | None
    tracking_url_schema: str | None

    def url_for(self, tracking_number: str) -> str | None:
        schema = self.tracking_url_schema
        if not schema or TRACKING_PLACEHOLDER not in schema:
            return None
        return schema.replace(TRACKING_PLACEHOLDER, tracking_number)


def carrier_from(method: Mapping[str, Any]) -> Carrier:
    """A ``ShippingMethod``: carrierName (falling back to its name) and its trackingUrlSchema."""
    return Carrier(
        name=method.get("carrierName") or method.get("name") or None,
        tracking_url_schema=method.get("trackingUrlSchema") or None,
    )


def tracking_numbers(package: Mapping[str, Any]) -> list[str]:
    return [
        str(ident["value"])
        for ident in package.get("identifier") or []
        if isinstance(ident, Mapping) and ident.get("identifierType") == "TrackingId" and ident.get("value")
    ]


def shipment_from(notification: Mapping[str, Any], carriers: Mapping[str, Carrier]) -> Shipment:
    """One ``OutboundShippingNotification``. Packages without a TrackingId add no Tracking: a shipment
    without tracking (freight, letter) is valid."""
    trackings: list[Tracking] = []
    shipped: list[Any] = []
    for package in notification.get("packages") or []:
        carrier = carriers.get(str(package.get("shippingMethodId")), Carrier(None, None))
        shipped.append(parse_dt(package.get("shippingDate")))
        for number in tracking_numbers(package):
            url = package.get("trackingUrl") or carrier.url_for(number)
            trackings.append(Tracking(number=number, carrier=carrier.name, url=url))
    info = notification.get("modificationInfo") or {}
    dates = [d for d in shipped if d is not None]
    return Shipment(
        shipment_id=str(notification["outboundShippingNotificationId"]),
        outbound_id=str(notification["outboundId"]),
        merchant_outbound_number=str(notification.get("merchantOutboundNumber", "")),
        lines=tuple(
            ShipmentLine(quantity=dec(item.get("quantity")), jfsku=item.get("jfsku"))
            for item in notification.get("items") or []
        ),
        trackings=tuple(trackings),
        shipped_at=min(dates) if dates else parse_dt(info.get("createdAt")),
        outbound_status=notification.get("outboundStatus"),
        updated_at=parse_dt(info.get("updatedAt")) or parse_dt(info.get("createdAt")),
    )


def available_of(levels: Mapping[str, Any], stock_input: str) -> Decimal:
    """What FFN can ship of a product. The spec calls ``stockLevel`` "available for shipment" without
    saying whether reservations (outbounds) and blocked stock (the fulfiller's) are already taken out:
    ``net`` takes ``stockLevel`` as it is, ``gross`` subtracts ``stockLevelReserved`` and
    ``stockLevelBlocked`` from it."""
    level = dec(levels.get("stockLevel"))
    if stock_input == "gross":
        return level - dec(levels.get("stockLevelReserved")) - dec(levels.get("stockLevelBlocked"))
    return level


def stock_level_from_change(change: Mapping[str, Any], stock_input: str = "net") -> StockLevel:
    """A ``StockChange``: the absolute levels after the change; version = stockVersion."""
    change_id = change.get("stockChangeId") or {}
    info = change.get("modificationInfo") or {}
    return StockLevel(
        jfsku=str(change_id["jfsku"]),
        merchant_sku=change.get("merchantSku") or None,
        available=available_of(change, stock_input),
        reserved=dec(change.get("stockLevelReserved")),
        blocked=dec(change.get("stockLevelBlocked")),
        warehouse_id=change_id.get("warehouseId"),
        version=int(change_id["stockVersion"]) if change_id.get("stockVersion") is not None else None,
        updated_at=parse_dt(info.get("updatedAt")) or parse_dt(info.get("createdAt")),
    )


def stock_level_from_stock(
    stock: Mapping[str, Any], warehouse_id: str | None, stock_input: str = "net"
) -> StockLevel:
    """A ``Stock`` from stocks/complete: the configured warehouse's entry (zero when it has none), or
    the product's totals over all warehouses when ``warehouse_id`` is None."""
    source: Mapping[str, Any] = stock
    if warehouse_id is not None:
        source = next(
            (w for w in stock.get("warehouses") or [] if w.get("warehouseId") == warehouse_id),
            {},
        )
    return StockLevel(
        jfsku=str(stock["jfsku"]),
        merchant_sku=stock.get("merchantSku") or None,
        available=available_of(source, stock_input),
        reserved=dec(source.get("stockLevelReserved")),
        blocked=dec(source.get("stockLevelBlocked")),
        warehouse_id=warehouse_id,
        updated_at=parse_dt(stock.get("fulfillerTimestamp")),
    )
