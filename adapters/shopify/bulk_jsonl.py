"""A bulk query's order export: the query text, and its JSONL put back together into order nodes. Pure.

The query is the paged order query's own field selection (``queries.CHANGED_ORDERS``), rewritten for a bulk
operation: no variables (their values are written in), no paging arguments or ``pageInfo`` (a bulk query
returns every node), ``edges { node }`` as the guide writes it, and ``__typename`` on each nested node so a
child line says which connection it belongs to. Shopify writes each node on its own line, the children of a
node (shipping lines, fulfillment orders, and the fulfillment orders' lines) with ``__parentId``.

The operation runs with ``groupObjects: true``: the pinned schema documents it as "grouping objects directly
under their corresponding parent objects", so every line of an order comes after the order's own line and
before the next order's. ``Grouped`` hands each order on as soon as the next one starts (memory for one
order, not the file); within an order's group it takes any order of the children (the docs do not say
whether a fulfillment order's lines follow it directly or come after all of the order's children).
``Assembly`` puts together a whole file in any order (children anywhere, as without grouping).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import (
    ArgumentNode,
    EnumValueNode,
    FieldNode,
    NameNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    VariableNode,
    parse,
    print_ast,
)

from adapters.shopify import queries

# How a later run (after a restart) knows the operation is ours, and grouped: releases before streaming ran
# ``FfnSyncOrderCatchUp`` without groupObjects, whose file must not be read as grouped (it is another's).
OPERATION_NAME = "FfnSyncOrdersGrouped"
_NAME = re.compile(r"\s*query\s+(\w+)")
_PAGING = frozenset({"first", "last", "after", "before"})
# (parent type, child __typename) -> the connection the child belongs to in the paged node's shape
CHILD_CONNECTIONS = {
    ("Order", "ShippingLine"): "shippingLines",
    ("Order", "FulfillmentOrder"): "fulfillmentOrders",
    ("FulfillmentOrder", "FulfillmentOrderLineItem"): "lineItems",
}
_WINDOW = re.compile(r"updated_at:>='([^']+)' AND updated_at:<'([^']+)'")
_PARENT = re.compile(r'"__parentId"\s*:\s*"(gid://shopify/\w+/\d+)"')
_ORDER_ID = re.compile(r'"id"\s*:\s*"(gid://shopify/Order/\d+)"')


def order_query(search: str, fo_query: str) -> str:
    """The bulk query for the orders matching ``search`` (the paged read's ``query:`` filter)."""
    paged = parse(queries.CHANGED_ORDERS.text)
    operation = paged.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    orders = _field(operation.selection_set, "orders")
    nodes = _field(orders.selection_set, "nodes")
    values = {"foQuery": fo_query}
    root = FieldNode(
        name=NameNode(value="orders"),
        arguments=(
            ArgumentNode(name=NameNode(value="query"), value=StringValueNode(value=search)),
            ArgumentNode(name=NameNode(value="sortKey"), value=EnumValueNode(value="UPDATED_AT")),
        ),
        selection_set=_edges(_selections(nodes.selection_set, values, typename=False)),
    )
    text = print_ast(
        OperationDefinitionNode(
            operation=operation.operation,
            name=NameNode(value=OPERATION_NAME),
            selection_set=SelectionSetNode(selections=(root,)),
        )
    )
    return text


def query_window(text: str) -> tuple[str, str] | None:
    """The (start, end) a bulk query of ours filters on, as written; None for somebody else's query."""
    name = _NAME.match(text)
    if name is None or name.group(1) != OPERATION_NAME:
        return None
    found = _WINDOW.search(text)
    return (found.group(1), found.group(2)) if found else None


def _field(selection_set: SelectionSetNode | None, name: str) -> FieldNode:
    assert selection_set is not None
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode) and selection.name.value == name:
            return selection
    raise KeyError(name)


def _edges(node_selections: SelectionSetNode) -> SelectionSetNode:
    node = FieldNode(name=NameNode(value="node"), selection_set=node_selections)
    return SelectionSetNode(
        selections=(
            FieldNode(name=NameNode(value="edges"), selection_set=SelectionSetNode(selections=(node,))),
        )
    )


def _selections(
    selection_set: SelectionSetNode | None, values: dict[str, str], *, typename: bool
) -> SelectionSetNode:
    out: list[FieldNode] = []
    if typename:
        out.append(FieldNode(name=NameNode(value="__typename")))
    for selection in selection_set.selections if selection_set else ():
        assert isinstance(selection, FieldNode), "the order query uses no fragments"
        if selection.name.value == "pageInfo":
            continue
        connection = selection.selection_set is not None and any(
            isinstance(s, FieldNode) and s.name.value in ("nodes", "edges")
            for s in selection.selection_set.selections
        )
        args = tuple(
            _literal(a, values)
            for a in selection.arguments or ()
            if not (connection and a.name.value in _PAGING)
        )
        inner: SelectionSetNode | None = None
        if connection:
            nodes = _field(selection.selection_set, "nodes")
            inner = _edges(_selections(nodes.selection_set, values, typename=True))
        elif selection.selection_set is not None:
            inner = _selections(selection.selection_set, values, typename=False)
        out.append(FieldNode(alias=selection.alias, name=selection.name, arguments=args, selection_set=inner))
    return SelectionSetNode(selections=tuple(out))


def _literal(argument: ArgumentNode, values: dict[str, str]) -> ArgumentNode:
    if isinstance(argument.value, VariableNode):
        name = argument.value.name.value
        if name not in values:
            raise ValueError(f"the order query's ${name} has no bulk value")
        return ArgumentNode(name=argument.name, value=StringValueNode(value=values[name]))
    return argument


# the result file ----------------------------------------------------------------------------------------


class ResultUnusable(ValueError):
    """The file cannot be trusted as a whole (a broken line that names no order)."""


@dataclass
class Assembly:
    """Order nodes in the paged read's shape, built from the lines as they come."""

    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)  # order id -> why it cannot be read from this file
    _nodes: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)  # id -> (type, node)
    _orphans: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _broken_children: list[tuple[str, str]] = field(default_factory=list)  # (parent id, reason)
    scope: str = "in the file"  # where a line's parent must be (for the error)

    def feed(self, raw: bytes, number: int) -> None:
        try:
            line = orjson.loads(raw)
            if not isinstance(line, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            self._broken_line(raw, number, f"line {number} of the bulk result is not a JSON object ({exc})")
            return
        parent = line.pop("__parentId", None)
        if parent is None:
            self._add_order(line, number, raw)
        else:
            self._add_child(str(parent), line)

    def _add_order(self, line: dict[str, Any], number: int, raw: bytes) -> None:
        order_id = line.get("id")
        if not isinstance(order_id, str):
            raise ResultUnusable(f"line {number} of the bulk result is an order without an id: {raw[:120]!r}")
        for connection in ("shippingLines", "fulfillmentOrders"):
            line[connection] = {"nodes": [], "pageInfo": {"hasNextPage": False}}
        self.orders[order_id] = line
        self._nodes[order_id] = ("Order", line)

    def _add_child(self, parent: str, line: dict[str, Any]) -> None:
        if parent not in self._nodes:
            self._orphans.append((parent, line))  # its parent comes later in the file
            return
        parent_type, parent_node = self._nodes[parent]
        key = CHILD_CONNECTIONS.get((parent_type, str(line.get("__typename"))))
        if key is None:
            self._broken_children.append(
                (
                    parent,
                    f"a {line.get('__typename')} line under a {parent_type} is not part of the order query",
                )
            )
            return
        if key == "fulfillmentOrders":
            line["lineItems"] = {"nodes": [], "pageInfo": {"hasNextPage": False}}
            child_id = line.get("id")
            if isinstance(child_id, str):
                self._nodes[child_id] = ("FulfillmentOrder", line)
                line["__order"] = parent
        parent_node[key]["nodes"].append(line)

    def _broken_line(self, raw: bytes, number: int, reason: str) -> None:
        text = raw.decode("utf-8", "replace")
        parent = _PARENT.search(text)
        if parent:
            self._broken_children.append((parent.group(1), reason))
            return
        order = _ORDER_ID.search(text)
        if order:
            self.broken[order.group(1)] = reason
            return
        raise ResultUnusable(f"{reason}, and it names no order: {text[:120]!r}")

    def finish(self) -> list[dict[str, Any]]:
        """The order nodes, in file order, once every line was fed; ``broken`` says which to park."""
        pending, self._orphans = self._orphans, []
        for _ in range(3):  # a child may name a parent that itself came late (a fulfillment order's lines)
            waiting, pending = pending, []
            for parent, line in waiting:
                if parent in self._nodes:
                    self._add_child(parent, line)
                else:
                    pending.append((parent, line))
        for parent, reason in self._broken_children:
            order_id = self._order_of(parent)
            if order_id is None:
                raise ResultUnusable(f"{reason}; its parent {parent} is not in the file")
            self.broken.setdefault(order_id, reason)
        for parent, _line in pending:
            if self._order_of(parent) not in self.broken:  # the children of a broken order go with it
                raise ResultUnusable(f"a line names the parent {parent}, which is not {self.scope}")
        for node in self.orders.values():
            for fo in node["fulfillmentOrders"]["nodes"]:
                fo.pop("__order", None)
        return list(self.orders.values())

    def _order_of(self, node_id: str) -> str | None:
        found = self._nodes.get(node_id)
        if found is None:
            return node_id if node_id in self.broken or "/Order/" in node_id else None
        node_type, node = found
        return node_id if node_type == "Order" else str(node.get("__order"))


def assemble(lines: Iterable[bytes]) -> Assembly:
    assembly = Assembly()
    for number, raw in enumerate(lines, start=1):
        if raw.strip():
            assembly.feed(raw, number)
    return assembly


class Grouped:
    """A grouped result (``groupObjects: true``) read line by line: ``feed`` returns the orders completed by
    that line (the previous order, once the next one starts), ``finish`` the last. Each comes with the reason
    it cannot be read from this file, or None. A line whose parent is not in its order's group breaks the
    promise of grouping: the file is unusable (``ResultUnusable``)."""

    def __init__(self) -> None:
        self._group = Assembly(scope="in its order's group (groupObjects)")

    def feed(self, raw: bytes, number: int) -> list[tuple[dict[str, Any], str | None]]:
        done: list[tuple[dict[str, Any], str | None]] = []
        if self._is_root(raw):
            done = self._close()
        self._group.feed(raw, number)
        return done

    def finish(self) -> list[tuple[dict[str, Any], str | None]]:
        return self._close()

    def _close(self) -> list[tuple[dict[str, Any], str | None]]:
        group, self._group = self._group, Assembly(scope="in its order's group (groupObjects)")
        if not group.orders and not group.broken and not group._nodes:
            return []
        nodes = group.finish()
        broken = dict(group.broken)
        done: list[tuple[dict[str, Any], str | None]] = [
            (node, broken.pop(node["id"], None)) for node in nodes
        ]
        # An order whose own line was the broken one: only its id is known.
        done.extend(({"id": order_id}, reason) for order_id, reason in broken.items())
        return done

    @staticmethod
    def _is_root(raw: bytes) -> bool:
        # Only the order lines lack a parent; a broken line is judged by its text, as ``Assembly`` does.
        return b'"__parentId"' not in raw
