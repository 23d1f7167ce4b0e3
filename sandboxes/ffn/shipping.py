"""The fulfiller ships: shipping notifications with 1..n packages, with or without tracking, full or partial."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandboxes.ffn import stock
from sandboxes.ffn.seed import DHL, FREIGHT
from sandboxes.ffn.world import World, ts


class ShipError(ValueError):
    """A control request that cannot be carried out (reported as 400 on the control API)."""


def _resolve_lines(
    outbound: dict[str, Any], lines: list[dict[str, Any]] | None
) -> list[tuple[dict[str, Any], Decimal]]:
    items = [i for i in outbound["items"] if i.get("jfsku")]
    if lines is None:
        return [(item, Decimal(item["quantityOpen"])) for item in items if Decimal(item["quantityOpen"]) > 0]
    resolved = []
    for line in lines:
        key = line.get("jfsku") or line.get("merchantSku")
        item = next((i for i in items if key in (i["jfsku"], i.get("merchantSku"))), None)
        if item is None:
            raise ShipError(f"outbound {outbound['outboundId']} has no item {key!r}")
        quantity = Decimal(str(line.get("quantity", item["quantityOpen"])))
        if quantity <= 0 or quantity > Decimal(item["quantityOpen"]):
            raise ShipError(f"item {key!r}: cannot ship {quantity}, open is {item['quantityOpen']}")
        resolved.append((item, quantity))
    return resolved


def _tracking_numbers(world: World, tracking: bool | list[str], packages: int) -> list[list[str]]:
    if tracking is True:
        return [[f"00340434{world.next_number():010d}"] for _ in range(packages)]
    if not tracking:
        return [[] for _ in range(packages)]
    per_package: list[list[str]] = [[] for _ in range(packages)]
    for index, number in enumerate(tracking):
        per_package[min(index, packages - 1)].append(str(number))
    return per_package


def ship(
    world: World,
    outbound: dict[str, Any],
    *,
    lines: list[dict[str, Any]] | None = None,
    packages: int = 1,
    tracking: bool | list[str] = True,
    shipping_method_id: str | None = None,
) -> dict[str, Any]:
    if outbound["status"] in ("Canceled", "Shipped", "PartiallyCanceled"):
        raise ShipError(f"outbound {outbound['outboundId']} is {outbound['status']}; nothing to ship")
    if packages < 1:
        raise ShipError("packages must be at least 1")
    resolved = _resolve_lines(outbound, lines)
    if not resolved:
        raise ShipError(f"outbound {outbound['outboundId']} has nothing left to ship")
    method_id = shipping_method_id or outbound.get("shippingMethodId") or DHL
    if world.shipping_method(method_id) is None:
        raise ShipError(f"unknown shipping method {method_id!r}")
    for item, quantity in resolved:
        item["quantityOpen"] = Decimal(item["quantityOpen"]) - quantity
        stock.book_out(world, outbound, item, quantity)
    done = all(Decimal(i["quantityOpen"]) <= 0 for i in outbound["items"] if i.get("jfsku"))
    status = "Shipped" if done else "PartiallyShipped"
    outbound["status"] = status
    outbound.setdefault("statusTimestamp", {})[status[0].lower() + status[1:]] = ts(world.now())
    world.touch(outbound)
    number = world.next_number()
    now = ts(world.now())
    notification = {
        "outboundShippingNotificationId": f"{world.merchant_id}05{number:08d}",
        "fulfillerShippingNotificationNumber": f"LS-{number:06d}",
        "outboundId": outbound["outboundId"],
        "merchantOutboundNumber": outbound["merchantOutboundNumber"],
        "fulfillerId": world.fulfiller_id,
        "outboundStatus": status,
        "note": None,
        "items": [
            {
                "outboundShippingNotificationItemId": f"{number}-{index}",
                "jfsku": item["jfsku"],
                "quantity": quantity,
                "serialnumbers": [],
                "batch": None,
                "note": None,
            }
            for index, (item, quantity) in enumerate(resolved, start=1)
        ],
        "packages": [
            {
                "freightOption": "LessThanTruckload" if method_id == FREIGHT else "Parcel",
                "identifier": [{"value": n, "identifierType": "TrackingId", "name": None} for n in numbers],
                "shippingDate": now,
                "shippingMethodId": method_id,
                "trackingUrl": None,
                "estimatedDeliveryDate": None,
                "weight": None,
                "note": None,
            }
            for numbers in _tracking_numbers(world, tracking, packages)
        ],
        "modificationInfo": {"createdAt": now, "updatedAt": now, "state": "New"},
    }
    world.notifications.append(notification)
    return notification
