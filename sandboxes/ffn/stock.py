"""Stock bookkeeping: absolute levels per (jfsku, warehouse), reservations by outbounds, a change log.

Sandbox semantics (the spec leaves this open, see the API notes §6.5): ``stockLevel`` is what is
available for shipment, i.e. reservations are already deducted; creating an outbound moves quantity
from ``stockLevel`` to ``stockLevelReserved``; shipping books the reserved quantity out; cancelling
releases it. With ``oversale`` the level may go negative.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandboxes.ffn.world import StockSlot, World, ts


def record_change(
    world: World,
    slot: StockSlot,
    change_type: str,
    *,
    quantity: Decimal = Decimal(0),
    reserved: Decimal = Decimal(0),
    outbound: dict[str, Any] | None = None,
    outbound_item_id: str | None = None,
    note: str | None = None,
) -> None:
    slot.level += quantity
    slot.reserved += reserved
    slot.version += 1
    product = world.products.get(slot.jfsku, {})
    now = ts(world.now())
    change: dict[str, Any] = {
        "stockChangeId": {
            "warehouseId": slot.warehouse_id,
            "jfsku": slot.jfsku,
            "stockVersion": slot.version,
        },
        "fulfillerStockChangeId": f"BK{world.next_number():05d}",
        "merchantSku": product.get("merchantSku", ""),
        "stockLevel": reported_level(world, slot),
        "stockLevelReserved": slot.reserved,
        "stockLevelBlocked": slot.blocked,
        "stockLevelAnnounced": slot.announced,
        "quantity": quantity,
        "quantityReserved": reserved,
        "quantityBlocked": Decimal(0),
        "quantityAnnounced": Decimal(0),
        "changeType": change_type,
        "current": True,
        "note": note,
        "modificationInfo": {"createdAt": now, "updatedAt": now, "state": "New"},
        "fulfillerTimestamp": now,
    }
    if outbound is not None:
        change["outboundItem"] = {
            "merchantOutboundNumber": outbound["merchantOutboundNumber"],
            "outboundId": outbound["outboundId"],
            "outboundItemId": outbound_item_id,
        }
    previous = world.current_changes.get((slot.jfsku, slot.warehouse_id))
    if previous is not None:
        previous["current"] = False
    world.current_changes[(slot.jfsku, slot.warehouse_id)] = change
    world.stock_changes.append(change)


def set_level(
    world: World,
    jfsku: str,
    warehouse_id: str,
    level: Decimal,
    *,
    reserved: Decimal | None = None,
    blocked: Decimal | None = None,
) -> None:
    """The fulfiller's stock taking: ``level`` can be shipped; ``reserved``/``blocked`` when given."""
    slot = world.slot(jfsku, warehouse_id)
    delta = level - slot.level
    held = Decimal(0) if reserved is None else reserved - slot.reserved
    if blocked is not None and blocked != slot.blocked:
        slot.blocked = blocked
        if not delta and not held:
            record_change(world, slot, "ConditionChanged")
    if delta or held:
        record_change(world, slot, "Inbound" if delta > 0 else "Adjustment", quantity=delta, reserved=held)


def available(world: World, jfsku: str, warehouse_id: str) -> Decimal:
    return world.slot(jfsku, warehouse_id).level


def reserve(world: World, outbound: dict[str, Any]) -> None:
    for item in outbound["items"]:
        if not item.get("jfsku"):
            continue
        slot = world.slot(item["jfsku"], outbound["warehouseId"])
        quantity = Decimal(item["quantityOpen"])
        slot.reservations[(outbound["outboundId"], item["outboundItemId"])] = quantity
        record_change(
            world,
            slot,
            "Reservation",
            quantity=-quantity,
            reserved=quantity,
            outbound=outbound,
            outbound_item_id=item["outboundItemId"],
        )


def release(world: World, outbound: dict[str, Any]) -> None:
    """Give back whatever the outbound still holds (cancel, partial cancel, item edits)."""
    for item in outbound["items"]:
        if not item.get("jfsku"):
            continue
        slot = world.slot(item["jfsku"], outbound["warehouseId"])
        held = slot.reservations.pop((outbound["outboundId"], item["outboundItemId"]), Decimal(0))
        if held:
            record_change(
                world,
                slot,
                "ReservationCanceled",
                quantity=held,
                reserved=-held,
                outbound=outbound,
                outbound_item_id=item["outboundItemId"],
            )


def book_out(world: World, outbound: dict[str, Any], item: dict[str, Any], quantity: Decimal) -> None:
    slot = world.slot(item["jfsku"], outbound["warehouseId"])
    key = (outbound["outboundId"], item["outboundItemId"])
    held = slot.reservations.get(key, Decimal(0))
    from_reserved = min(held, quantity)
    slot.reservations[key] = held - from_reserved
    record_change(
        world,
        slot,
        "Delivery",
        quantity=-(quantity - from_reserved),
        reserved=-from_reserved,
        outbound=outbound,
        outbound_item_id=item["outboundItemId"],
    )


def reported_level(world: World, slot: StockSlot) -> Decimal:
    """``stockLevel`` as the knob has FFN report it: net (``slot.level``) or with reserved and blocked."""
    if world.knobs.stock_level == "gross":
        return slot.level + slot.reserved + slot.blocked
    return slot.level


def _levels(world: World, slot: StockSlot) -> dict[str, Any]:
    return {
        "stockLevel": reported_level(world, slot),
        "stockLevelReserved": slot.reserved,
        "stockLevelBlocked": slot.blocked,
        "stockLevelAnnounced": slot.announced,
        "stockLevelDetails": [],
        "stockReservedDetails": [
            {"outboundId": oid, "outboundItemId": iid, "quantityReserved": q}
            for (oid, iid), q in slot.reservations.items()
            if q
        ],
        "stockAnnouncedDetails": [],
    }


def stock_doc(world: World, jfsku: str) -> dict[str, Any]:
    """The spec's ``Stock``: totals, per warehouse and per fulfiller."""
    product = world.products[jfsku]
    sku = product["merchantSku"]
    slots = [s for (j, _), s in sorted(world.stock.items()) if j == jfsku]
    total = StockSlot(jfsku=jfsku, warehouse_id="")
    for slot in slots:
        total.level += slot.level
        total.reserved += slot.reserved
        total.blocked += slot.blocked
        total.announced += slot.announced
        total.reservations.update(slot.reservations)
    warehouses = [
        {
            "jfsku": jfsku,
            "merchantSku": sku,
            "warehouseId": s.warehouse_id,
            "fulfillerId": world.fulfiller_id,
            **_levels(world, s),
        }
        for s in slots
    ]
    fulfiller = [
        {"jfsku": jfsku, "merchantSku": sku, "fulfillerId": world.fulfiller_id, **_levels(world, total)}
    ]
    return {
        "jfsku": jfsku,
        "merchantSku": sku,
        **_levels(world, total),
        "warehouses": warehouses,
        "fulfiller": fulfiller if slots else [],
        "fulfillerTimestamp": ts(world.now()),
    }
