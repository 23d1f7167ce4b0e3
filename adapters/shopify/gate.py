"""Fulfilment-order truth: which lines of a Shopify order FFN ships, and whether the order waits. Pure.

Shopify says where and whether an order can be fulfilled through its fulfillment orders (FOs), not the order:
- only FOs assigned to the FFN location count (the client asks for those alone, ``displayable`` so FOs
  closed by a move or merge are gone); a line elsewhere is not FFN's, and a line moved away after export
  drops out, which edits (or, with nothing left, cancels) the outbound like a shop edit;
- an open FO at a fulfillment service's location (``Location.isFulfillmentService``: another app), or whose
  ``supportedActions`` (where read) lack ``CREATE_FULFILLMENT``, belongs to that service: since 2024-10 only
  it may fulfil it, so it is not FFN's either;
- ``ON_HOLD`` (payment, fraud, address, merchant hold) and ``SCHEDULED`` FOs wait: the order is exported
  when Shopify releases them;
- a test order (``Order.test``, e.g. the Bogus gateway) is reported as one (the engine never ships it)
  unless the channel says to ship test orders.

A line's quantity stays ``currentQuantity`` (what the customer bought minus edits and refunds), capped by
what its FOs at the FFN location carry: fulfilled units stay in the count, so our own fulfilment never
looks like an edit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

FULFILLABLE = frozenset({"OPEN", "IN_PROGRESS"})
WAITING = frozenset({"ON_HOLD", "SCHEDULED"})
DONE = frozenset({"CLOSED", "INCOMPLETE"})
CREATE_FULFILLMENT = "CREATE_FULFILLMENT"


@dataclass(frozen=True, slots=True)
class LocationShare:
    """What the FOs at the FFN location say about one order."""

    carried: Mapping[str, int]  # line item id -> units on FOs at the location FFN may ship (any progress)
    open_for_us: int  # units we can fulfil now
    waiting: tuple[str, ...]  # why FOs with open units wait (hold reasons, schedules)
    foreign: int  # open units at the location that another fulfilment service owns


def _actions(fo: Mapping[str, Any]) -> set[str]:
    return {str(a.get("action")) for a in fo.get("supportedActions") or []}


def _lines(fo: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list((fo.get("lineItems") or {}).get("nodes") or [])


def _why_waiting(fo: Mapping[str, Any]) -> str:
    if fo.get("status") == "SCHEDULED":
        return f"scheduled for {fo.get('fulfillAt') or 'a later date'}"
    holds = [
        str(h.get("reason")) + (f" ({h['reasonNotes']})" if h.get("reasonNotes") else "")
        for h in fo.get("fulfillmentHolds") or []
    ]
    return "on hold: " + (", ".join(holds) or "no reason given")


def location_share(fo_nodes: Iterable[Mapping[str, Any]], *, service_location: bool = False) -> LocationShare:
    """Sum up the FOs assigned to the FFN location (the only ones the client reads); ``service_location``:
    that location belongs to a fulfillment service."""
    carried: dict[str, int] = {}
    open_for_us = foreign = 0
    waiting: list[str] = []
    for fo in fo_nodes:
        status = str(fo.get("status"))
        lines = _lines(fo)
        remaining = sum(int(li.get("remainingQuantity") or 0) for li in lines)
        refused = "supportedActions" in fo and CREATE_FULFILLMENT not in _actions(fo)
        if status in FULFILLABLE and (service_location or refused):
            foreign += remaining
            continue
        if status not in FULFILLABLE | WAITING | DONE:
            continue  # cancelled: carries nothing
        if status in FULFILLABLE:
            open_for_us += remaining
        elif status in WAITING and remaining:
            waiting.append(_why_waiting(fo))
        for li in lines:
            line_id = str((li.get("lineItem") or {}).get("id"))
            carried[line_id] = carried.get(line_id, 0) + int(li.get("totalQuantity") or 0)
    return LocationShare(carried, open_for_us, tuple(dict.fromkeys(waiting)), foreign)


def waiting_reason(share: LocationShare) -> str | None:
    """Why the order waits on Shopify (``ShopOrder.hold``), or None."""
    return f"Shopify fulfillment order {'; '.join(share.waiting)}" if share.waiting else None


def nothing_here(share: LocationShare, location_id: str) -> str | None:
    """Why none of the order is FFN's to ship now (for the log), or None when some is."""
    if share.waiting or share.open_for_us:
        return None
    where = f"at the FFN location {location_id}"
    if share.foreign:
        return f"its {share.foreign} open unit(s) {where} belong to another fulfillment service (no CREATE_FULFILLMENT)"
    return f"nothing open {where}: lines are at other locations or already fulfilled"


def shipped_quantity(line_id: str, current_quantity: int, share: LocationShare) -> int:
    return min(current_quantity, share.carried.get(line_id, 0))


def location_query(location_id: str) -> str:
    """The ``fulfillmentOrders(query:)`` filter for one location gid."""
    return f"assigned_location_id:{location_id.rsplit('/', 1)[-1]}"


def is_waiting(fo_statuses: Sequence[str]) -> bool:
    return any(status in WAITING for status in fo_statuses)
