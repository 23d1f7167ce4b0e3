"""The mutations the sandbox serves, with Shopify's validation and ``userErrors``.

A mutation either applies completely or not at all and answers the problems as ``userErrors``
(``field`` is the input path), as Shopify does.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError

from adapters.shopify.sandbox.views import Info, View, Views, stamp
from adapters.shopify.sandbox.world import Fulfillment, Order, Tracking, World, gid, parse_gid

MAX_INPUT_SIZE = 250
QUANTITY_NAMES = {"available", "on_hand"}
# Shopify's documented inventory adjustment reasons.
REASONS = {
    "correction", "cycle_count_available", "damaged", "movement_created", "movement_updated",
    "movement_received", "movement_canceled", "other", "promotion", "quality_control", "received",
    "reservation_created", "reservation_deleted", "reservation_updated", "restock", "safety_stock", "shrinkage",
}  # fmt: skip
FULFILLABLE = {"OPEN", "IN_PROGRESS"}


def _error(field: list[str], message: str, code: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"field": field, "message": message}
    if code is not None:
        error["code"] = code
    return error


class MutationRoot:
    def __init__(self, world: World) -> None:
        self.world = world
        self.views = Views(world)

    # fulfilment ---------------------------------------------------------------------------------------

    def fulfillmentCreate(self, _info: Info, fulfillment: dict[str, Any], message: str | None = None) -> View:
        errors, plan, order, location = self._plan_fulfillment(fulfillment)
        tracking_input = fulfillment.get("trackingInfo") or {}
        if tracking_input.get("number") is not None and tracking_input.get("numbers") is not None:
            errors.append(
                _error(["fulfillment", "trackingInfo"], "Specify either number or numbers, not both.")
            )
        if tracking_input.get("url") is not None and tracking_input.get("urls") is not None:
            errors.append(_error(["fulfillment", "trackingInfo"], "Specify either url or urls, not both."))
        if errors or order is None or location is None:
            return {"fulfillment": None, "userErrors": errors}
        numbers = tracking_input.get("numbers") or (
            [tracking_input["number"]] if tracking_input.get("number") else []
        )
        urls = tracking_input.get("urls") or ([tracking_input["url"]] if tracking_input.get("url") else [])
        company = tracking_input.get("company")
        tracking = [
            Tracking(n, company, urls[i] if i < len(urls) else None) for i, n in enumerate(numbers)
        ] or ([Tracking(None, company, urls[0] if urls else None)] if company or urls else [])
        now = self.world.now()
        items = {li.id: li for li in order.line_items}
        for fo, line, qty in plan:
            line.remaining -= qty
            items[line.line_item_id].fulfilled += qty
            fo.status = "CLOSED" if all(x.remaining == 0 for x in fo.lines) else "IN_PROGRESS"
            fo.updated_at = now
        created = Fulfillment(
            id=self.world.next_id(),
            order_id=order.id,
            name=f"{order.name}.{len(order.fulfillments) + 1}",
            location_id=location,
            created_at=now,
            tracking=tracking,
            lines=[(line.id, qty) for _, line, qty in plan],
            notify_customer=bool(fulfillment.get("notifyCustomer")),
        )
        order.fulfillments.append(created)
        self.world.touch(order)
        return {"fulfillment": self.views.fulfillment(created), "userErrors": []}

    def _plan_fulfillment(
        self, fulfillment: dict[str, Any]
    ) -> tuple[list[Any], list[Any], Order | None, int | None]:
        errors: list[dict[str, Any]] = []
        plan: list[Any] = []
        orders: set[int] = set()
        locations: set[int] = set()
        groups = fulfillment["lineItemsByFulfillmentOrder"]
        if not groups:
            errors.append(_error(["fulfillment"], "Line items by fulfillment order must not be empty."))
        for gi, group in enumerate(groups):
            path = ["fulfillment", "lineItemsByFulfillmentOrder", str(gi)]
            fo_id = parse_gid(group["fulfillmentOrderId"], "FulfillmentOrder")
            found = self.world.fulfillment_order(fo_id) if fo_id is not None else None
            if found is None:
                errors.append(_error([*path, "fulfillmentOrderId"], "Fulfillment order does not exist."))
                continue
            order, fo = found
            orders.add(order.id)
            locations.add(fo.location_id)
            if fo.status not in FULFILLABLE:
                errors.append(
                    _error(
                        path,
                        f"Fulfillment order {group['fulfillmentOrderId']} has an unfulfillable "
                        f"status= {fo.status.lower()}.",
                    )
                )
                continue
            lines = {x.id: x for x in fo.lines}
            wanted = group.get("fulfillmentOrderLineItems")
            if wanted is None:  # everything that remains on this fulfillment order
                plan.extend((fo, x, x.remaining) for x in fo.lines if x.remaining > 0)
                continue
            for li_index, item in enumerate(wanted):
                line = lines.get(parse_gid(item["id"], "FulfillmentOrderLineItem") or 0)
                item_path = [*path, "fulfillmentOrderLineItems", str(li_index)]
                if line is None:
                    errors.append(_error([*item_path, "id"], "Fulfillment order line item does not exist."))
                elif not 0 < item["quantity"] <= line.remaining:
                    errors.append(
                        _error(
                            [*item_path, "quantity"],
                            "Invalid fulfillment order line item quantity requested.",
                        )
                    )
                else:
                    plan.append((fo, line, item["quantity"]))
        if len(orders) > 1:
            errors.append(_error(["fulfillment"], "All fulfillment orders must belong to the same order."))
        if len(locations) > 1:
            errors.append(
                _error(["fulfillment"], "All fulfillment orders must be assigned to the same location.")
            )
        if not errors and not plan:
            errors.append(_error(["fulfillment"], "Nothing to fulfill: no remaining quantity."))
        the_order = self.world.order(next(iter(orders))) if len(orders) == 1 else None
        return errors, plan, the_order, next(iter(locations)) if len(locations) == 1 else None

    # inventory ----------------------------------------------------------------------------------------

    def inventorySetQuantities(self, _info: Info, input: dict[str, Any]) -> View:
        quantities = input["quantities"]
        if len(quantities) > MAX_INPUT_SIZE:
            raise GraphQLError(
                f"The input array size of {len(quantities)} is greater than the maximum allowed of "
                f"{MAX_INPUT_SIZE}.",
                extensions={"code": "MAX_INPUT_SIZE_EXCEEDED"},
            )
        errors: list[dict[str, Any]] = []
        if input["name"] not in QUANTITY_NAMES:
            errors.append(
                _error(
                    ["input", "name"], "The quantity name must be 'available' or 'on_hand'.", "INVALID_NAME"
                )
            )
        if input["reason"] not in REASONS:
            errors.append(_error(["input", "reason"], "The specified reason is invalid.", "INVALID_REASON"))
        changes: list[tuple[int, int, int, int]] = []  # item, location, quantity, delta
        seen: set[tuple[int, int]] = set()
        for i, q in enumerate(quantities):
            path = ["input", "quantities", str(i)]
            item = parse_gid(q["inventoryItemId"], "InventoryItem")
            location = parse_gid(q["locationId"], "Location")
            if item is None or self.world.variant_by_inventory_item(item) is None:
                errors.append(
                    _error(
                        [*path, "inventoryItemId"],
                        "The specified inventory item could not be found.",
                        "INVALID_INVENTORY_ITEM",
                    )
                )
                continue
            if location is None or location not in self.world.locations:
                errors.append(
                    _error(
                        [*path, "locationId"],
                        "The specified location could not be found.",
                        "INVALID_LOCATION",
                    )
                )
                continue
            if item in self.world.non_mutable_items:
                errors.append(
                    _error(
                        [*path, "inventoryItemId"],
                        "The specified inventory item is not allowed to be adjusted via API. Example: if the inventory item is a parent bundle.",
                        "NON_MUTABLE_INVENTORY_ITEM",
                    )
                )
                continue
            if (item, location) not in self.world.inventory:
                errors.append(
                    _error(
                        [*path, "locationId"],
                        "The specified inventory item is not stocked at the location.",
                        "ITEM_NOT_STOCKED_AT_LOCATION",
                    )
                )
                continue
            if (item, location) in seen:
                errors.append(
                    _error(
                        path,
                        "The combination of inventoryItemId and locationId must be unique.",
                        "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
                    )
                )
                continue
            seen.add((item, location))
            if q["quantity"] < 0:
                errors.append(
                    _error(
                        [*path, "quantity"], "The quantity can't be negative.", "INVALID_QUANTITY_NEGATIVE"
                    )
                )
                continue
            if q["quantity"] > 1_000_000_000:
                errors.append(
                    _error(
                        [*path, "quantity"],
                        "The quantity can't be higher than 1,000,000,000.",
                        "INVALID_QUANTITY_TOO_HIGH",
                    )
                )
                continue
            current = self.world.inventory[(item, location)]
            if not input.get("ignoreCompareQuantity"):
                if q.get("compareQuantity") is None:
                    errors.append(
                        _error(
                            [*path, "compareQuantity"],
                            "The compareQuantity argument must be given to each quantity or ignored using ignoreCompareQuantity.",
                            "COMPARE_QUANTITY_REQUIRED",
                        )
                    )
                    continue
                if q["compareQuantity"] != current:
                    errors.append(
                        _error(
                            [*path, "compareQuantity"],
                            "The compareQuantity value does not match persisted value.",
                            "COMPARE_QUANTITY_STALE",
                        )
                    )
                    continue
            changes.append((item, location, q["quantity"], q["quantity"] - current))
        if errors:
            return {"inventoryAdjustmentGroup": None, "userErrors": errors}
        for item, location, quantity, _ in changes:
            self.world.inventory[(item, location)] = quantity
        group_id = self.world.next_id()
        return {
            "inventoryAdjustmentGroup": {
                "id": gid("InventoryAdjustmentGroup", group_id),
                "createdAt": stamp(self.world.now()),
                "reason": input["reason"],
                "referenceDocumentUri": input.get("referenceDocumentUri"),
                "changes": [
                    {
                        "name": input["name"],
                        "delta": delta,
                        "quantityAfterChange": quantity,
                        "item": {"id": gid("InventoryItem", item)},
                        "location": {"id": gid("Location", location)},
                    }
                    for item, location, quantity, delta in changes
                    if delta
                ],
            },
            "userErrors": [],
        }

    # order notes, tags, cancellation ------------------------------------------------------------------

    def _find_order(self, value: str) -> Order | None:
        number = parse_gid(value, "Order") if value.startswith("gid://") else None
        return self.world.order(number) if number is not None else None

    def tagsAdd(self, _info: Info, id: str, tags: list[str]) -> View:
        order = self._find_order(id)
        if order is None:
            return {"node": None, "userErrors": [_error(["id"], "Order does not exist")]}
        for tag in tags:
            for part in (t.strip() for t in tag.split(",")):
                if part and part not in order.tags:
                    order.tags.append(part)
        self.world.touch(order)
        return {"node": {"__typename": "Order", **self.views.order(order)}, "userErrors": []}

    def orderUpdate(self, _info: Info, input: dict[str, Any]) -> View:
        order = self._find_order(input["id"])
        if order is None:
            return {"order": None, "userErrors": [_error(["id"], "Order does not exist")]}
        if "note" in input:
            order.note = input["note"]
        if "email" in input:
            order.email = input["email"]
        if "tags" in input and input["tags"] is not None:
            order.tags = list(input["tags"])
        self.world.touch(order)
        return {"order": self.views.order(order), "userErrors": []}

    def orderCancel(
        self,
        _info: Info,
        orderId: str,
        refund: bool,
        restock: bool,
        reason: str,
        notifyCustomer: bool = False,
        staffNote: str | None = None,
    ) -> View:
        order = self._find_order(orderId)
        if order is None:
            return {
                "job": None,
                "orderCancelUserErrors": [_error(["orderId"], "Order not found.", "NOT_FOUND")],
            }
        if order.cancelled_at is not None:
            return {
                "job": None,
                "orderCancelUserErrors": [
                    _error(["orderId"], "Order has already been cancelled.", "INVALID")
                ],
            }
        if any(f.status == "SUCCESS" for f in order.fulfillments):
            return {
                "job": None,
                "orderCancelUserErrors": [
                    _error(["orderId"], "Cannot cancel an order that has fulfillments.", "INVALID")
                ],
            }
        self.world.cancel_order(order, reason=reason, refund=refund, staff_note=staffNote)
        job = self.world.next_id()
        self.world.jobs[job] = False
        return {"job": {"id": gid("Job", job), "done": False}, "orderCancelUserErrors": []}
