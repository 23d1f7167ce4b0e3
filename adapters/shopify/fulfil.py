"""Pure fulfilment planning: a canonical ``Shipment`` against an order's fulfillment orders.

Idempotency rule (``fulfillmentCreate`` has no idempotency key):
- a shipment with tracking numbers is already applied when any fulfilment of the order (not cancelled)
  carries one of those numbers;
- a shipment without tracking numbers is skipped when nothing it names remains to fulfil. A repeated
  untracked *partial* shipment cannot be told apart from a second parcel; the engine's applied-ledger
  guards that case.
Matching: a shipment line names the order line by ``line_id`` (preferred) or by ``sku``; quantities are
taken from the remaining quantities of the fulfillment orders at the FFN location whose ``supportedActions``
include ``CREATE_FULFILLMENT``, and of no others: fulfilling at another merchant location books that
location's stock down, and one owned by a fulfillment service (another app) is not ours to fulfil.
One ``fulfillmentCreate`` per call (one location, as Shopify requires).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from daemon.model import Shipment, ShipmentLine

FULFILLABLE_STATUSES = {"OPEN", "IN_PROGRESS"}


@dataclass(frozen=True, slots=True)
class FoLine:
    fulfillment_order_id: str
    id: str
    location_id: str | None
    line_item_id: str | None
    sku: str | None
    remaining: int  # 0 on fulfillment orders that cannot take fulfilments (closed, on hold, …)


@dataclass(frozen=True, slots=True)
class FulfilmentState:
    order_id: str
    name: str
    cancelled: bool
    lines: tuple[FoLine, ...]
    tracking_numbers: frozenset[str]
    truncated: bool  # a fulfillment order had more lines than one page


def parse_state(
    order: Mapping[str, Any], fo_nodes: Sequence[Mapping[str, Any]], location_id: str
) -> FulfilmentState:
    numbers = {
        str(t["number"])
        for f in order.get("fulfillments") or []
        if f.get("status") not in ("CANCELLED", "ERROR", "FAILURE")
        for t in f.get("trackingInfo") or []
        if t.get("number")
    }
    lines: list[FoLine] = []
    truncated = False
    for fo in fo_nodes:
        location = ((fo.get("assignedLocation") or {}).get("location") or {}).get("id")
        actions = {a.get("action") for a in fo.get("supportedActions") or []}
        fulfillable = (
            fo.get("status") in FULFILLABLE_STATUSES
            and location == location_id
            and "CREATE_FULFILLMENT" in actions
        )
        items = fo.get("lineItems") or {}
        truncated = truncated or bool((items.get("pageInfo") or {}).get("hasNextPage"))
        for li in items.get("nodes") or []:
            line_item = li.get("lineItem") or {}
            lines.append(
                FoLine(
                    fulfillment_order_id=str(fo["id"]),
                    id=str(li["id"]),
                    location_id=location,
                    line_item_id=line_item.get("id"),
                    sku=li.get("sku") or line_item.get("sku"),
                    remaining=int(li.get("remainingQuantity") or 0) if fulfillable else 0,
                )
            )
    return FulfilmentState(
        order_id=str(order["id"]),
        name=str(order.get("name") or order["id"]),
        cancelled=order.get("cancelledAt") is not None,
        lines=tuple(lines),
        tracking_numbers=frozenset(numbers),
        truncated=truncated,
    )


def tracking_numbers(shipment: Shipment) -> list[str]:
    return list(dict.fromkeys(t.number for t in shipment.trackings if t.number))


def already_applied(state: FulfilmentState, shipment: Shipment) -> bool:
    numbers = tracking_numbers(shipment)
    if numbers:
        return any(n in state.tracking_numbers for n in numbers)
    return False


@dataclass
class Plan:
    # location id -> fulfillment order id -> [(fulfillment order line id, quantity)]
    by_location: dict[str | None, dict[str, list[tuple[str, int]]]] = field(default_factory=dict)
    unmatched: list[str] = field(default_factory=list)  # shipment lines naming nothing on the order
    short: list[str] = field(default_factory=list)  # shipment lines with more than remains

    @property
    def empty(self) -> bool:
        return not self.by_location

    def add(self, line: FoLine, quantity: int) -> None:
        per_fo = self.by_location.setdefault(line.location_id, {})
        per_fo.setdefault(line.fulfillment_order_id, []).append((line.id, quantity))


def _label(line: ShipmentLine) -> str:
    return f"line_id={line.line_id}" if line.line_id else f"sku={line.sku or line.jfsku}"


def _whole(raw: Decimal | int, line: ShipmentLine) -> int:
    quantity = Decimal(str(raw))
    if quantity != quantity.to_integral_value():
        raise ValueError(f"shipment {_label(line)}: quantity {quantity} is not a whole number")
    return int(quantity)


def plan(state: FulfilmentState, shipment: Shipment) -> Plan:
    """Allocate the shipment's quantities to fulfillment-order lines (``ValueError`` on bad quantities)."""
    result = Plan()
    left = {line.id: line.remaining for line in state.lines}
    ordered = list(state.lines)  # lines we may not fulfil carry remaining 0
    if not shipment.lines:  # the whole order shipped
        for line in ordered:
            if left[line.id] > 0:
                result.add(line, left[line.id])
        return result
    for wanted in shipment.lines:
        need = _whole(wanted.quantity, wanted)
        if need <= 0:
            continue
        if wanted.line_id:
            candidates = [x for x in ordered if x.line_item_id == wanted.line_id]
        elif wanted.sku:
            candidates = [x for x in ordered if x.sku == wanted.sku]
        else:
            candidates = []
        if not candidates:
            result.unmatched.append(_label(wanted))
            continue
        for line in candidates:
            take = min(need, left[line.id])
            if take > 0:
                result.add(line, take)
                left[line.id] -= take
                need -= take
        if need > 0:
            result.short.append(f"{_label(wanted)} ({need} more than remains)")
    return result


def tracking_input(shipment: Shipment) -> dict[str, Any] | None:
    numbered = [t for t in shipment.trackings if t.number]
    carriers = [t.carrier for t in shipment.trackings if t.carrier]
    info: dict[str, Any] = {}
    if carriers:
        info["company"] = carriers[0]
    if numbered:
        info["numbers"] = tracking_numbers(shipment)
        urls = [t.url for t in numbered]
        # Shopify pairs urls with numbers by position; a partial list would mislabel them.
        if all(urls) and len(urls) == len(info["numbers"]):
            info["urls"] = urls
    elif any(t.url for t in shipment.trackings):
        info["urls"] = [t.url for t in shipment.trackings if t.url][:1]
    return info or None


def fulfillment_inputs(plan_: Plan, shipment: Shipment, *, notify_customer: bool) -> list[dict[str, Any]]:
    tracking = tracking_input(shipment)
    inputs = []
    for per_fo in plan_.by_location.values():
        payload: dict[str, Any] = {
            "notifyCustomer": notify_customer,
            "lineItemsByFulfillmentOrder": [
                {
                    "fulfillmentOrderId": fo_id,
                    "fulfillmentOrderLineItems": [{"id": line_id, "quantity": qty} for line_id, qty in items],
                }
                for fo_id, items in per_fo.items()
            ],
        }
        if tracking:
            payload["trackingInfo"] = tracking
        inputs.append(payload)
    return inputs
