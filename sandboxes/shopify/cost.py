"""Query cost and the per-shop leaky bucket, by Shopify's published rules.

Documented (shopify.dev, "GraphQL Admin API rate limits", Cost calculation): a field costs by what it
returns: scalar 0, enum 0, object 1, interface or union the maximum of the possible selections, a
connection is sized by its ``first``/``last`` argument (2 + ``first`` × the cost of one node; the page's
example ``products(first: 1) { edges { node { title } } }`` costs 3), a mutation 10. The requested cost
is computed before execution (at most 1000 per query) and must be in the bucket; the actual cost follows
the results (an object field answering null costs nothing below it, a connection costs the nodes it
really returned) and the difference is refunded.

Where the page is silent, the stricter reading: a connection without ``first``/``last`` is refused
before it runs (as Shopify answers); a list field that takes ``first`` is costed like a connection; a list
of objects without it is reserved as one object but charged per item returned, even beyond the
reservation; selecting both ``edges`` and ``nodes`` costs the dearer of the two.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInt,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    is_interface_type,
    is_list_type,
    is_object_type,
    is_union_type,
    value_from_ast,
)

from daemon.clock import Clock

MUTATION_COST = 10


class CostContext:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def operation_cost(self, op: OperationDefinitionNode, data: Mapping[str, Any] | None = None) -> int:
        if op.operation.value == "mutation":
            return MUTATION_COST * len(self._fields(op.selection_set))
        root = self.schema.query_type
        assert root is not None
        return self._selection_cost(op.selection_set, root, data, actual=data is not None)

    def _fields(self, selection_set: SelectionSetNode | None) -> list[FieldNode]:
        """The field nodes of a selection set with fragments flattened (all of them, whatever their type)."""
        found: list[FieldNode] = []
        for sel in selection_set.selections if selection_set else ():
            if isinstance(sel, FieldNode):
                found.append(sel)
            elif isinstance(sel, InlineFragmentNode):
                found.extend(self._fields(sel.selection_set))
            elif isinstance(sel, FragmentSpreadNode) and sel.name.value in self.fragments:
                found.extend(self._fields(self.fragments[sel.name.value].selection_set))
        return found

    def _branches(self, selection_set: SelectionSetNode | None, parent: Any) -> dict[str, list[FieldNode]]:
        """The fields selected on ``parent`` itself ("" key) and those selected only for one of its
        possible types (fragments ``... on T`` of an interface or union, keyed by ``T``)."""
        branches: dict[str, list[FieldNode]] = {}
        for sel in selection_set.selections if selection_set else ():
            if isinstance(sel, FieldNode):
                branches.setdefault("", []).append(sel)
                continue
            if isinstance(sel, InlineFragmentNode):
                condition, inner = sel.type_condition, sel.selection_set
            elif isinstance(sel, FragmentSpreadNode) and sel.name.value in self.fragments:
                fragment = self.fragments[sel.name.value]
                condition, inner = fragment.type_condition, fragment.selection_set
            else:
                continue
            name = condition.name.value if condition is not None else ""
            key = "" if name in ("", getattr(parent, "name", "")) else name
            for branch, fields in self._branches(inner, parent).items():
                branches.setdefault(branch or key, []).extend(fields)
        return branches

    def _first(self, node: FieldNode) -> int:
        for arg in node.arguments or ():
            if arg.name.value in ("first", "last"):
                value = value_from_ast(arg.value, GraphQLInt, dict(self.variables))
                return int(value) if isinstance(value, int) else 0
        return 0

    def _selection_cost(
        self, selection_set: SelectionSetNode | None, parent: Any, data: Any, *, actual: bool
    ) -> int:
        """Fields on the type itself add up; of an interface's or union's possible types only the dearest
        selection counts (Shopify: "Interface / Union: maximum of possible selections")."""
        if not isinstance(parent, GraphQLObjectType) and not is_interface_type(parent):
            if not is_union_type(parent):
                return 0
        branches = self._branches(selection_set, parent)
        common = self._fields_cost(branches.pop("", []), parent, data, actual=actual)
        typed = [
            self._fields_cost(fields, self.schema.get_type(name) or parent, data, actual=actual)
            for name, fields in branches.items()
        ]
        return common + max(typed, default=0)

    def _fields_cost(self, fields: list[FieldNode], parent: Any, data: Any, *, actual: bool) -> int:
        total = 0
        for node in fields:
            name = node.name.value
            own = getattr(parent, "fields", {})
            if name.startswith("__") or name not in own:
                continue
            key = node.alias.value if node.alias else name
            value = data.get(key) if isinstance(data, Mapping) else None
            total += self._field_cost(node, own[name].type, value, actual=actual)
        return total

    def _field_cost(self, node: FieldNode, field_type: Any, value: Any, *, actual: bool) -> int:
        named = get_named_type(field_type)
        if not (is_object_type(named) or is_interface_type(named) or is_union_type(named)):
            return 0
        if named.name.endswith("Connection"):
            return self._connection_cost(node, named, value, actual=actual)
        if is_list_type(get_nullable_type(field_type)):
            first = self._first(node)
            if actual:
                items = value or []
                return (2 if first else 0) + sum(
                    1 + self._selection_cost(node.selection_set, named, i, actual=True) for i in items
                )
            per_item = 1 + self._selection_cost(node.selection_set, named, None, actual=False)
            return 2 + first * per_item if first else per_item
        if actual and value is None:
            return 0
        return 1 + self._selection_cost(node.selection_set, named, value, actual=actual)

    def _connection_cost(self, node: FieldNode, conn: Any, value: Any, *, actual: bool) -> int:
        node_type = get_named_type(conn.fields["nodes"].type) if "nodes" in conn.fields else None
        per_page: list[int] = []
        for child in self._fields(node.selection_set):
            child_key = child.alias.value if child.alias else child.name.value
            child_value = value.get(child_key) if isinstance(value, Mapping) else None
            if child.name.value == "nodes":
                per_page.append(self._nodes_cost(child.selection_set, node_type, child_value, node, actual))
            elif child.name.value == "edges":
                for grand in self._fields(child.selection_set):
                    if grand.name.value == "node":
                        nodes = [
                            e.get(grand.alias.value if grand.alias else "node") for e in child_value or []
                        ]
                        per_page.append(self._nodes_cost(grand.selection_set, node_type, nodes, node, actual))
        return 2 + max(per_page, default=0)

    def _nodes_cost(
        self, selection: SelectionSetNode | None, node_type: Any, values: Any, conn: FieldNode, actual: bool
    ) -> int:
        if actual:
            return sum(1 + self._selection_cost(selection, node_type, v, actual=True) for v in values or [])
        size = self._first(conn)
        if size == 0 and not any(a.name.value in ("first", "last") for a in conn.arguments or ()):
            # Refused before anything runs, as Shopify does: a connection is sized by first or last.
            raise GraphQLError(
                f"you must provide one of first or last for the connection {conn.name.value!r}",
                extensions={"code": "argumentLiteralsIncompatible"},
            )
        return size * (1 + self._selection_cost(selection, node_type, None, actual=False))


@dataclass
class BucketStats:
    requests: int = 0
    throttled: int = 0
    actual_total: float = 0.0
    first_at: float | None = None
    last_at: float | None = None


class LeakyBucket:
    """Shopify's per app × shop budget: ``maximum`` points, refilled at ``restore_rate`` points per second."""

    def __init__(self, clock: Clock, *, maximum: float = 2000.0, restore_rate: float = 100.0) -> None:
        self.clock = clock
        self.maximum = maximum
        self.restore_rate = restore_rate
        self._level = maximum
        self._stamp = clock.monotonic()
        self.stats = BucketStats()

    def available(self) -> float:
        now = self.clock.monotonic()
        self._level = min(self.maximum, self._level + (now - self._stamp) * self.restore_rate)
        self._stamp = now
        return self._level

    def try_reserve(self, requested: int) -> bool:
        now = self.clock.monotonic()
        self.stats.requests += 1
        self.stats.first_at = now if self.stats.first_at is None else self.stats.first_at
        self.stats.last_at = now
        if requested > self.available():
            self.stats.throttled += 1
            return False
        self._level -= requested
        return True

    def settle(self, requested: int, actual: int) -> None:
        """Charge the actual cost: refund what was reserved beyond it, or take what it exceeds the
        reservation by (a list of objects is reserved as one object but charged per item returned)."""
        self.stats.actual_total += actual
        self._level = min(self.maximum, self._level + requested - actual)

    def status(self) -> dict[str, Any]:
        return {
            "maximumAvailable": float(self.maximum),
            "currentlyAvailable": int(self.available()),
            "restoreRate": float(self.restore_rate),
        }

    def reset(self) -> None:
        self._level, self._stamp, self.stats = self.maximum, self.clock.monotonic(), BucketStats()
