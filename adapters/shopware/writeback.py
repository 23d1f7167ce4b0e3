"""Writing fulfiller events back to a Shopware order: tracking codes + delivery state for a
shipment; tag, note and (optionally) cancellation for a fulfiller-side status."""

from __future__ import annotations

from typing import Any

from loguru import logger

from adapters.shopware import queries
from adapters.shopware.errors import ILLEGAL_TRANSITION
from adapters.shopware.mapping import delivery_transition, merge_tracking_codes, primary_delivery, reached
from adapters.shopware.transport import ShopwareApi
from daemon.errors import ManualActionNeeded, RecordError
from daemon.model import FulfillerStatus, OrderRef, OutboundStatus, Shipment

CANCEL_STATUSES = frozenset({OutboundStatus.CANCELED, OutboundStatus.PARTIALLY_CANCELED})


async def load_order(api: ShopwareApi, order: OrderRef) -> dict[str, Any]:
    found = await api.search("order", queries.one_order(order.order_id))
    if not found:
        raise RecordError(f"order {order.number} ({order.order_id}) no longer exists in Shopware")
    return found[0]


def shipment_completes(order: dict[str, Any], shipment: Shipment) -> bool:
    """FFN says whether the outbound is now fully shipped; without that, compare the quantities."""
    if shipment.outbound_status in (OutboundStatus.SHIPPED, OutboundStatus.PARTIALLY_SHIPPED):
        return shipment.outbound_status == OutboundStatus.SHIPPED
    ordered: dict[str, int] = {}
    for item in order.get("lineItems") or []:
        if item.get("type") == "product" and item.get("good") is not False:
            ordered[str(item.get("id"))] = int(item.get("quantity") or 0)
    shipped: dict[str, float] = {}
    by_sku = {
        str((i.get("payload") or {}).get("productNumber")): str(i.get("id"))
        for i in order.get("lineItems") or []
    }
    for line in shipment.lines:
        key = line.line_id or by_sku.get(line.sku or "")
        if key:
            shipped[key] = shipped.get(key, 0) + float(line.quantity)
    return all(shipped.get(line_id, 0) >= qty for line_id, qty in ordered.items())


async def apply_shipment(
    api: ShopwareApi, order: OrderRef, shipment: Shipment, *, send_mail: bool = True
) -> None:
    raw = await load_order(api, order)
    delivery = primary_delivery(raw)
    if delivery is None:
        raise RecordError(f"order {order.number}: Shopware has no delivery to mark as shipped")
    delivery_id = str(delivery["id"])
    existing = delivery.get("trackingCodes") or []
    codes = merge_tracking_codes(existing, [t.number for t in shipment.trackings])
    complete = shipment_completes(raw, shipment)
    current = (delivery.get("stateMachineState") or {}).get("technicalName")
    cancelled = _cancelled_part(raw, current)
    if cancelled:
        if codes == list(existing) and reached(current, complete):
            logger.info(
                f"shopware order {order.number}: shipment {shipment.shipment_id} was applied before the {cancelled} was cancelled"
            )
            return
        # The fulfiller shipped what the shop cancelled (stock given back, maybe refunded):
        # an operator must sort out the parcel and the money; nothing is written.
        raise ManualActionNeeded(
            f"shipment {shipment.shipment_id} for Shopware order {order.number} ({order.order_id}): "
            f"the {cancelled} is cancelled in the shop; tracking not written, check the parcel and the payment by hand",
            upstream="shopware",
        )
    if codes != list(existing):
        # PATCH replaces the whole list, hence read-merge-write; codes go first so a "shipped"
        # mail or flow already sees them.
        await api.patch("order-delivery", delivery_id, {"trackingCodes": codes})
    action = delivery_transition(current, complete)
    if action is None:
        if not reached(current, complete):
            logger.warning(
                f"shopware order {order.number}: delivery is {current!r}, not marking shipment "
                f"{shipment.shipment_id} as shipped; tracking codes were written"
            )
        return
    await transition_delivery(api, order, delivery_id, action, complete, send_mail=send_mail)


def _cancelled_part(order: dict[str, Any], delivery_state: str | None) -> str | None:
    """Which part of the order the shop cancelled, if any: the order itself or its delivery."""
    if (order.get("stateMachineState") or {}).get("technicalName") == "cancelled":
        return "order"
    return "delivery" if delivery_state == "cancelled" else None


async def transition_delivery(
    api: ShopwareApi,
    order: OrderRef,
    delivery_id: str,
    action: str,
    complete: bool,
    *,
    send_mail: bool = True,
) -> None:
    try:
        # sendMail false suppresses the customer mail the transition would send (notify_customer).
        await api.transition("order_delivery", delivery_id, action, {"sendMail": send_mail})
    except RecordError as exc:
        if exc.vendor_code != ILLEGAL_TRANSITION:
            raise
        # Someone (a merchant, an earlier attempt whose answer got lost) moved it meanwhile.
        found = await api.search("order-delivery", queries.delivery_state(delivery_id))
        state = ((found[0] if found else {}).get("stateMachineState") or {}).get("technicalName")
        if reached(state, complete):
            logger.info(
                f"shopware order {order.number}: delivery already {state}, transition {action} skipped"
            )
            return
        raise RecordError(
            f"order {order.number}: delivery is {state!r} and cannot take {action!r}: {exc.message}",
            upstream=exc.upstream,
            status=exc.status,
            vendor_code=exc.vendor_code,
        ) from None


def status_note(status: FulfillerStatus) -> str:
    reason = f": {status.cancel_reason}" if status.cancel_reason else ""
    return f"Fulfillment: outbound {status.merchant_outbound_number} {status.status.value}{reason}"


async def apply_order_status(
    api: ShopwareApi,
    order: OrderRef,
    status: FulfillerStatus,
    *,
    cancel_in_shop: bool,
    tag_id: str,
    tag_name: str,
    send_mail: bool = True,
) -> None:
    if status.status not in CANCEL_STATUSES:
        return
    raw = await load_order(api, order)
    version = await api.version()
    note = status_note(status)
    changes: dict[str, Any] = {}
    if tag_id not in {t.get("id") for t in raw.get("tags") or []}:
        changes["tags"] = [{"id": tag_id, "name": tag_name}]
    if version.has_internal_comment:
        comment = raw.get("internalComment") or ""
        if note not in comment:
            changes["internalComment"] = f"{comment}\n{note}".strip()
    if changes:
        await api.patch("order", order.order_id, changes)
    wants_cancel = cancel_in_shop and status.status == OutboundStatus.CANCELED
    if not wants_cancel or (raw.get("stateMachineState") or {}).get("technicalName") == "cancelled":
        return
    try:
        await api.transition(
            "order", order.order_id, "cancel", {"internalComment": note, "sendMail": send_mail}
        )
    except RecordError as exc:
        if exc.vendor_code != ILLEGAL_TRANSITION:
            raise
        again = await load_order(api, order)
        if (again.get("stateMachineState") or {}).get("technicalName") == "cancelled":
            return
        raise ManualActionNeeded(
            f"order {order.number} cannot be cancelled in Shopware from its current state; "
            f"the fulfiller cancelled it, so cancel or complete it by hand: {exc.message}",
            upstream=exc.upstream,
            status=exc.status,
            vendor_code=exc.vendor_code,
        ) from None
