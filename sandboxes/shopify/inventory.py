"""``inventorySetQuantities`` by API version: compare-and-swap and idempotency keys.

- ≤ 2026-01 (old shape): each quantity's ``compareQuantity`` must equal the stored value unless
  ``ignoreCompareQuantity: true`` (``COMPARE_QUANTITY_REQUIRED`` / ``COMPARE_QUANTITY_STALE``). 2026-01 also
  accepts ``changeFromQuantity``: given (even as ``null``), it replaces the old fields (the schema's own
  description); an explicit ``null`` skips the check, a stale value is ``CHANGE_FROM_QUANTITY_STALE``.
- ≥ 2026-04: the old fields are gone from the schema; ``changeFromQuantity`` must be present on every quantity
  and ``@idempotent(key:)`` on the field (``versions.py``).
- ``@idempotent`` (2026-01 optional, then mandatory): a repeated key with the same input returns the first
  result and changes nothing; with another input it is refused (``IDEMPOTENCY_KEY_PARAMETER_MISMATCH``).
"""

from __future__ import annotations

from typing import Any

import orjson
from graphql import GraphQLError

from sandboxes.shopify.versions import (
    idempotency_key,
    missing_change_from,
    missing_idempotency,
    strict_inventory,
)
from sandboxes.shopify.views import Info, View, stamp
from sandboxes.shopify.world import World, gid, parse_gid

MAX_INPUT_SIZE = 250
QUANTITY_NAMES = {"available", "on_hand"}
# Shopify's documented inventory adjustment reasons.
REASONS = {
    "correction", "cycle_count_available", "damaged", "movement_created", "movement_updated",
    "movement_received", "movement_canceled", "other", "promotion", "quality_control", "received",
    "reservation_created", "reservation_deleted", "reservation_updated", "restock", "safety_stock", "shrinkage",
}  # fmt: skip


def user_error(field: list[str], message: str, code: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"field": field, "message": message}
    if code is not None:
        error["code"] = code
    return error


class InventoryMutations:
    def __init__(self, world: World) -> None:
        self.world = world

    def set_quantities(self, info: Info, input: dict[str, Any]) -> View:
        version = str(info.context.get("version") or "")
        coerced: dict[str, Any] = info.variable_values.coerced
        key = idempotency_key(info.field_nodes[0], coerced)
        strict = strict_inventory(version)
        if strict and key is None:
            raise missing_idempotency(info.field_name)
        quantities = input["quantities"]
        if len(quantities) > MAX_INPUT_SIZE:
            raise GraphQLError(
                f"The input array size of {len(quantities)} is greater than the maximum allowed of "
                f"{MAX_INPUT_SIZE}.",
                extensions={"code": "MAX_INPUT_SIZE_EXCEEDED"},
            )
        if strict:
            for i, q in enumerate(quantities):
                if "changeFromQuantity" not in q:
                    raise missing_change_from(i)
        if key is not None:
            fingerprint = orjson.dumps(input, option=orjson.OPT_SORT_KEYS)
            earlier = self.world.idempotent.get(key)
            if earlier is not None:
                if earlier[0] != fingerprint:
                    return {
                        "inventoryAdjustmentGroup": None,
                        "userErrors": [
                            user_error(
                                ["input"],
                                "The same idempotency key cannot be used with different operation parameters.",
                                "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
                            )
                        ],
                    }
                return earlier[1]
            result = self._apply(input)
            self.world.idempotent[key] = (fingerprint, result)
            return result
        return self._apply(input)

    def _apply(self, input: dict[str, Any]) -> View:
        errors: list[dict[str, Any]] = []
        if input["name"] not in QUANTITY_NAMES:
            errors.append(
                user_error(
                    ["input", "name"], "The quantity name must be 'available' or 'on_hand'.", "INVALID_NAME"
                )
            )
        if input["reason"] not in REASONS:
            errors.append(
                user_error(["input", "reason"], "The specified reason is invalid.", "INVALID_REASON")
            )
        on_hand = input["name"] == "on_hand"
        changes: list[tuple[int, int, int, int]] = []  # item, location, new available, delta
        seen: set[tuple[int, int]] = set()
        for i, q in enumerate(input["quantities"]):
            path = ["input", "quantities", str(i)]
            problem = self._locate(q, path, seen)
            if isinstance(problem, dict):
                errors.append(problem)
                continue
            item, location = problem
            committed = self.world.committed.get((item, location), 0)
            current = self.world.inventory[(item, location)] + (committed if on_hand else 0)
            stale = self._compare(q, current, input, path)
            if stale is not None:
                errors.append(stale)
                continue
            available = q["quantity"] - committed if on_hand else q["quantity"]
            changes.append((item, location, available, q["quantity"] - current))
        if errors:
            return {"inventoryAdjustmentGroup": None, "userErrors": errors}
        for item, location, available, _ in changes:
            self.world.inventory[(item, location)] = available
        return {
            "inventoryAdjustmentGroup": {
                "id": gid("InventoryAdjustmentGroup", self.world.next_id()),
                "createdAt": stamp(self.world.now()),
                "reason": input["reason"],
                "referenceDocumentUri": input.get("referenceDocumentUri"),
                "changes": [
                    {
                        "name": input["name"],
                        "delta": delta,
                        "quantityAfterChange": available,
                        "item": {"id": gid("InventoryItem", item)},
                        "location": {"id": gid("Location", location)},
                    }
                    for item, location, available, delta in changes
                    if delta
                ],
            },
            "userErrors": [],
        }

    def _locate(
        self, q: dict[str, Any], path: list[str], seen: set[tuple[int, int]]
    ) -> tuple[int, int] | dict[str, Any]:
        item = parse_gid(q["inventoryItemId"], "InventoryItem")
        location = parse_gid(q["locationId"], "Location")
        if item is None or self.world.variant_by_inventory_item(item) is None:
            return user_error(
                [*path, "inventoryItemId"],
                "The specified inventory item could not be found.",
                "INVALID_INVENTORY_ITEM",
            )
        if location is None or location not in self.world.locations:
            return user_error(
                [*path, "locationId"], "The specified location could not be found.", "INVALID_LOCATION"
            )
        if item in self.world.non_mutable_items:
            return user_error(
                [*path, "inventoryItemId"],
                "The specified inventory item is not allowed to be adjusted via API. "
                "Example: if the inventory item is a parent bundle.",
                "NON_MUTABLE_INVENTORY_ITEM",
            )
        if (item, location) not in self.world.inventory:
            return user_error(
                [*path, "locationId"],
                "The specified inventory item is not stocked at the location.",
                "ITEM_NOT_STOCKED_AT_LOCATION",
            )
        if (item, location) in seen:
            return user_error(
                path,
                "The combination of inventoryItemId and locationId must be unique.",
                "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
            )
        seen.add((item, location))
        if q["quantity"] < 0:
            return user_error(
                [*path, "quantity"], "The quantity can't be negative.", "INVALID_QUANTITY_NEGATIVE"
            )
        if q["quantity"] > 1_000_000_000:
            return user_error(
                [*path, "quantity"],
                "The quantity can't be higher than 1,000,000,000.",
                "INVALID_QUANTITY_TOO_HIGH",
            )
        return item, location

    def _compare(
        self, q: dict[str, Any], current: int, input: dict[str, Any], path: list[str]
    ) -> dict[str, Any] | None:
        if "changeFromQuantity" in q:  # replaces the old compare fields (null: no check)
            if q["changeFromQuantity"] is not None and q["changeFromQuantity"] != current:
                return user_error(
                    [*path, "changeFromQuantity"],
                    "The changeFromQuantity value does not match persisted value.",
                    "CHANGE_FROM_QUANTITY_STALE",
                )
            return None
        if input.get("ignoreCompareQuantity"):
            return None
        if q.get("compareQuantity") is None:
            return user_error(
                [*path, "compareQuantity"],
                "The compareQuantity argument must be given to each quantity or ignored using "
                "ignoreCompareQuantity.",
                "COMPARE_QUANTITY_REQUIRED",
            )
        if q["compareQuantity"] != current:
            return user_error(
                [*path, "compareQuantity"],
                "The compareQuantity value does not match persisted value.",
                "COMPARE_QUANTITY_STALE",
            )
        return None
