"""Criteria bodies for ``POST /api/search/{entity}`` (pure).

Paging is keyset on ``autoIncrement`` (a read-only, ever-growing int64 on orders and products):
offset paging over a filter on mutable dates skips rows when a row drops out of the result
between two pages; ``autoIncrement > last seen`` with ``page: 1`` cannot.
"""

from __future__ import annotations

from typing import Any

from adapters.shopware.mapping import dal_time
from daemon.model import Window

Criteria = dict[str, Any]

ADDRESS: dict[str, Any] = {"associations": {"country": {}, "countryState": {}}}


# 6.7's ``primaryOrderDelivery`` association is not requested: the id field names the delivery on
# 6.7, and asking for the association would fail on 6.6.
ORDER_ASSOCIATIONS: dict[str, Any] = {
    "lineItems": {},
    "deliveries": {
        "associations": {
            "shippingOrderAddress": ADDRESS,
            "shippingMethod": {},
            "stateMachineState": {},
        }
    },
    "transactions": {"associations": {"stateMachineState": {}, "paymentMethod": {}}},
    "orderCustomer": {},
    "stateMachineState": {},
    "currency": {},
    "tags": {},
}


def _in_window(field: str, window: Window) -> dict[str, Any]:
    return {
        "type": "range",
        "field": field,
        "parameters": {"gte": dal_time(window.start), "lt": dal_time(window.end)},
    }


def _keyset(filters: list[dict[str, Any]], after: int | None, limit: int) -> Criteria:
    if after is not None:
        filters = [*filters, {"type": "range", "field": "autoIncrement", "parameters": {"gt": after}}]
    return {
        "page": 1,
        "limit": limit,
        "filter": filters,
        "sort": [{"field": "autoIncrement", "order": "ASC"}],
        "total-count-mode": "none",
    }


def changed_orders(window: Window, *, after: int | None, limit: int) -> Criteria:
    """Orders created or changed in the window, including changes only a delivery or a payment
    saw: ``updatedAt`` is empty on new rows and child writes don't bump the order."""
    changed = {
        "type": "multi",
        "operator": "or",
        "queries": [
            _in_window("createdAt", window),
            _in_window("updatedAt", window),
            _in_window("deliveries.updatedAt", window),
            _in_window("transactions.createdAt", window),
            _in_window("transactions.updatedAt", window),
        ],
    }
    criteria = _keyset([changed], after, limit)
    criteria["associations"] = ORDER_ASSOCIATIONS
    return criteria


def one_order(order_id: str) -> Criteria:
    return {
        "ids": [order_id],
        "limit": 1,
        "total-count-mode": "none",
        "associations": ORDER_ASSOCIATIONS,
    }


def changed_products(window: Window, *, after: int | None, limit: int) -> Criteria:
    changed = {
        "type": "multi",
        "operator": "or",
        "queries": [_in_window("createdAt", window), _in_window("updatedAt", window)],
    }
    return _keyset([changed], after, limit)


def children_of(parent_ids: list[str], *, after: int | None, limit: int) -> Criteria:
    """Variants of these parents: a parent's change (name, EAN, weight) is what they inherit, but
    their own ``updatedAt`` does not move."""
    return _keyset([{"type": "equalsAny", "field": "parentId", "value": parent_ids}], after, limit)


def products_by_number(numbers: list[str]) -> Criteria:
    return {
        "filter": [{"type": "equalsAny", "field": "productNumber", "value": numbers}],
        "limit": len(numbers),
        "total-count-mode": "none",
    }


def delivery_state(delivery_id: str) -> Criteria:
    return {"ids": [delivery_id], "limit": 1, "associations": {"stateMachineState": {}}}


def tag_by_name(name: str) -> Criteria:
    # equalsAny, not equals: the 6.6 spec's EqualsFilter uses the 3.1-only type "null" in an
    # OpenAPI 3.0 document, so an equals filter cannot be validated against it.
    return {"filter": [{"type": "equalsAny", "field": "name", "value": [name]}], "limit": 1}


def currency(currency_id: str) -> Criteria:
    return {"ids": [currency_id], "limit": 1}
