"""What Shopify does to fulfillment orders alone: holds, their release, moves to another location.

Placing or releasing a hold changes the fulfillment orders, not the order: its ``updatedAt`` stays.
"""

from __future__ import annotations

from sandboxes.shopify.world import FulfillmentOrder, FulfillmentOrderLine, LineItem, Order, World


def move(world: World, order: Order, line: LineItem, location: int) -> None:
    """``fulfillmentOrderMove`` for one line: its open units go to a fulfillment order at ``location``.

    The old fulfillment order keeps what it fulfilled; emptied, it is closed and hidden (Shopify hides
    fulfillment orders closed by a move). The order's ``updatedAt`` moves too (an assumption: Shopify's
    docs do not say)."""
    now = world.now()
    moved = 0
    for fo in order.fulfillment_orders:
        if fo.status not in ("OPEN", "IN_PROGRESS", "ON_HOLD", "SCHEDULED") or fo.location_id == location:
            continue
        for fl in fo.lines:
            if fl.line_item_id == line.id and fl.remaining:
                moved += fl.remaining
                fl.total -= fl.remaining
                fl.remaining = 0
        if all(fl.total == 0 for fl in fo.lines):
            fo.status, fo.hidden, fo.updated_at = "CLOSED", True, now
    if not moved:
        return
    world.commit(order, line, -moved)
    world.line_locations[line.id] = location
    world.commit(order, line, moved)
    fo = FulfillmentOrder(
        world.next_id(),
        order.id,
        location,
        [FulfillmentOrderLine(world.next_id(), line.id, moved, moved)],
        now,
        now,
    )
    world.add_fulfillment_order(order, fo)
    world.touch(order)


def hold(world: World, order: Order, reason: str, notes: str | None = None) -> None:
    now = world.now()
    for fo in order.fulfillment_orders:
        if fo.status in ("OPEN", "SCHEDULED", "ON_HOLD"):
            fo.holds.append((reason, notes))
            fo.status, fo.updated_at = "ON_HOLD", now


def release(world: World, order: Order) -> None:
    """Release every hold and schedule; Shopify leaves the order's ``updatedAt`` alone."""
    now = world.now()
    for fo in order.fulfillment_orders:
        if fo.status in ("ON_HOLD", "SCHEDULED"):
            held = fo.status == "ON_HOLD"
            fo.holds.clear()
            fo.fulfill_at = None
            fo.status, fo.updated_at = "OPEN", now
            if held:
                world.changed("FULFILLMENT_ORDERS_HOLD_RELEASED", fo)
