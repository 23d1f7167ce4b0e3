"""The mutations the sandbox serves, with Shopify's validation and ``userErrors``.

A mutation either applies completely or not at all and answers the problems as ``userErrors``
(``field`` is the input path), as Shopify does.
"""

from __future__ import annotations

from typing import Any

from sandboxes.shopify.inventory import InventoryMutations, user_error
from sandboxes.shopify.views import Info, View, Views
from sandboxes.shopify.world import Fulfillment, Order, Tracking, World, gid, parse_gid

FULFILLABLE = {"OPEN", "IN_PROGRESS"}


_error = user_error


class MutationRoot:
    def __init__(self, world: World) -> None:
        self.world = world
        self.views = Views(world)
        self.inventory = InventoryMutations(world)

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
            self.world.ship_committed(items[line.line_item_id], fo.location_id, qty)
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
            service = self.world.locations[fo.location_id].fulfillment_service
            if service is not None:
                # Since 2024-10 only the owning fulfillment service may fulfil (no CREATE_FULFILLMENT).
                errors.append(
                    _error(
                        path,
                        f"Fulfillment order {group['fulfillmentOrderId']} is assigned to the fulfillment "
                        f"service {service}; this app is not permitted to fulfill it.",
                    )
                )
                continue
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

    def inventorySetQuantities(self, info: Info, input: dict[str, Any]) -> View:
        return self.inventory.set_quantities(info, input)

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
