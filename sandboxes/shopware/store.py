"""In-memory entity tables shaped like the Admin API's JSON, with the associations the DAL knows.

Rows hold only scalar (and JSON-object) fields, exactly as the spec names them; associations are
resolved on read, so a filter on ``deliveries.updatedAt`` or a requested ``shippingOrderAddress``
works the way the DAL's dot notation does.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Assoc:
    """One association of an entity.

    ``local``/``foreign``: the row field on this side and the field on the target side that must be
    equal (``stateId`` → ``id`` for a many-to-one, ``id`` → ``orderId`` for a one-to-many).
    ``via``: mapping table for many-to-many, as (table, this side's column, target's column).
    """

    target: str
    local: str = "id"
    foreign: str = "id"
    many: bool = False
    via: tuple[str, str, str] | None = None
    since_67: bool = False


ASSOCIATIONS: dict[str, dict[str, Assoc]] = {
    "order": {
        "lineItems": Assoc("order_line_item", "id", "orderId", many=True),
        "deliveries": Assoc("order_delivery", "id", "orderId", many=True),
        "transactions": Assoc("order_transaction", "id", "orderId", many=True),
        "orderCustomer": Assoc("order_customer", "id", "orderId"),
        "stateMachineState": Assoc("state_machine_state", "stateId"),
        "currency": Assoc("currency", "currencyId"),
        "billingAddress": Assoc("order_address", "billingAddressId"),
        "addresses": Assoc("order_address", "id", "orderId", many=True),
        "tags": Assoc("tag", many=True, via=("order_tag", "orderId", "tagId")),
        "primaryOrderDelivery": Assoc("order_delivery", "primaryOrderDeliveryId", since_67=True),
        "primaryOrderTransaction": Assoc("order_transaction", "primaryOrderTransactionId", since_67=True),
    },
    "order_delivery": {
        "order": Assoc("order", "orderId"),
        "shippingOrderAddress": Assoc("order_address", "shippingOrderAddressId"),
        "shippingMethod": Assoc("shipping_method", "shippingMethodId"),
        "stateMachineState": Assoc("state_machine_state", "stateId"),
        "positions": Assoc("order_delivery_position", "id", "orderDeliveryId", many=True),
    },
    "order_delivery_position": {"orderLineItem": Assoc("order_line_item", "orderLineItemId")},
    "order_transaction": {
        "order": Assoc("order", "orderId"),
        "stateMachineState": Assoc("state_machine_state", "stateId"),
        "paymentMethod": Assoc("payment_method", "paymentMethodId"),
    },
    "order_address": {
        "country": Assoc("country", "countryId"),
        "countryState": Assoc("country_state", "countryStateId"),
    },
    "order_line_item": {"product": Assoc("product", "productId")},
    "order_customer": {},
    "product": {
        "parent": Assoc("product", "parentId"),
        "children": Assoc("product", "id", "parentId", many=True),
    },
    "state_machine_state": {},
    "currency": {},
    "country": {},
    "country_state": {},
    "shipping_method": {},
    "payment_method": {},
    "tag": {},
    "webhook": {},
}

# URL spelling (``order-delivery``) to entity name (``order_delivery``) for the generic routes.
SEARCHABLE = {name.replace("_", "-"): name for name in ASSOCIATIONS}


def new_id() -> str:
    return uuid.uuid4().hex


def stable_id(*parts: str) -> str:
    """Deterministic ids for fixed rows (states, countries) so a reset world looks the same."""
    return hashlib.md5("/".join(parts).encode(), usedforsecurity=False).hexdigest()


class Store:
    def __init__(self, version: str) -> None:
        self.is_67 = version.startswith("6.7")
        self.tables: dict[str, dict[str, Row]] = {name: {} for name in ASSOCIATIONS}
        self.tables["order_tag"] = {}
        self.auto_increment: dict[str, int] = {}

    def next_auto_increment(self, entity: str) -> int:
        self.auto_increment[entity] = self.auto_increment.get(entity, 0) + 1
        return self.auto_increment[entity]

    def insert(self, entity: str, row: Row) -> Row:
        self.tables[entity][row["id"]] = row
        return row

    def get(self, entity: str, row_id: str | None) -> Row | None:
        return self.tables[entity].get(row_id) if row_id else None

    def rows(self, entity: str) -> Iterator[Row]:
        return iter(list(self.tables[entity].values()))

    def link(self, table: str, left: str, right: str) -> None:
        self.tables[table][left + right] = {"id": left + right, "left": left, "right": right}

    def association(self, entity: str, name: str) -> Assoc | None:
        assoc = ASSOCIATIONS.get(entity, {}).get(name)
        if assoc is None or (assoc.since_67 and not self.is_67):
            return None
        return assoc

    def related(self, entity: str, row: Row, name: str) -> list[Row]:
        """The rows an association points at (zero or one for to-one)."""
        assoc = self.association(entity, name)
        if assoc is None:
            raise KeyError(name)
        if assoc.via is not None:
            table = self.tables[assoc.via[0]]
            ids = [link["right"] for link in table.values() if link["left"] == row["id"]]
            return [r for i in ids if (r := self.get(assoc.target, i)) is not None]
        key = row.get(assoc.local)
        if key is None:
            return []
        if assoc.foreign == "id":
            target = self.get(assoc.target, key)
            return [target] if target is not None else []
        return [r for r in self.tables[assoc.target].values() if r.get(assoc.foreign) == key]

    def values(self, entity: str, row: Row, path: str) -> list[Any]:
        """All values reached by a dotted field path (to-many hops fan out, like a SQL join)."""
        head, _, rest = path.partition(".")
        if self.association(entity, head) is not None:
            if not rest:
                return self.related(entity, row, head)
            assoc = ASSOCIATIONS[entity][head]
            out: list[Any] = []
            for child in self.related(entity, row, head):
                out.extend(self.values(assoc.target, child, rest))
            return out
        if head not in row:
            raise LookupError(f'Field "{head}" in entity "{entity}" was not found.')
        value: Any = row[head]
        for key in rest.split(".") if rest else ():
            value = value.get(key) if isinstance(value, dict) else None
        return [value]
