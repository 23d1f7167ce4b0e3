"""What a bulk query may ask for, and its result as Shopify writes it: JSONL, one object per line.

Shopify's rules (shopify.dev "Perform bulk operations with the GraphQL Admin API", the ``bulkOperationRunQuery``
reference of the pinned versions):
- one top-level field, and it must be a connection; at least one connection in all, at most five;
- connections nest at most two levels below the top-level one (the root is not counted: ``products →
  variants → media`` is at the limit, checked against a live shop in estuary/connectors#5163);
- a node with a nested connection must select its ``id`` (children name it in ``__parentId``); a connection
  inside a list or a plain object field is not supported;
- pagination arguments are ignored: every connection returns all its nodes.

The result: each node of each connection is its own line, the connection fields left out; a nested node
carries ``"__parentId"`` = its parent node's id. With ``groupObjects: true`` the schema promises "grouping
objects directly under their corresponding parent objects": every line of a top-level node comes after it
and before the next top-level node. Whether a grandchild follows its own parent directly or comes after
all of the top-level node's children the docs do not say: the sandbox writes each top-level node's group
level by level (``grouping="levels"``, the stricter reading: a client must not rely on a child's children
following it), or depth first (``grouping="depth"``, the knob). Without grouping (the default from
2026-01) the order is not promised: the sandbox writes every top-level node first, then the children level
by level, so a client that relies on grouping breaks here.

Sandbox limits (stricter than Shopify, said in the user error): no variables, no fragments.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import (
    ArgumentNode,
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    IntValueNode,
    NameNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    execute,
    get_named_type,
    is_list_type,
    parse,
    validate,
)
from graphql.type import get_nullable_type

MAX_CONNECTIONS = 5
MAX_NESTING = 2  # connection levels below the top-level connection
PAGE = 250  # nested connections are read up to this many nodes each; the client sees them all
ROOT_PAGE = 50  # top-level nodes read per step of a running operation
_PAGING_ARGS = frozenset({"first", "last", "after", "before"})
_PAGE_ALIAS = "sandboxPage"


class BulkQueryInvalid(ValueError):
    """The query cannot run as a bulk operation (Shopify answers a ``BulkOperationUserError`` INVALID)."""


@dataclass
class Plan:
    """One connection in the query: where its nodes sit in the answer, and the connections below them."""

    key: str  # response key of the connection field
    node_path: tuple[str, ...]  # ("edges", "node") or ("nodes",)
    children: list[Plan] = field(default_factory=list)


def check(schema: GraphQLSchema, text: str) -> tuple[FieldNode, Plan]:
    """The top-level connection field and the plan of the connections, or ``BulkQueryInvalid``."""
    try:
        document = parse(text)
    except GraphQLError as exc:
        raise BulkQueryInvalid(f"Invalid bulk query: {exc.message}") from None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != len(document.definitions):
        raise BulkQueryInvalid("Invalid bulk query: fragments are not supported in bulk queries (sandbox)")
    if len(operations) != 1 or operations[0].operation is not OperationType.QUERY:
        raise BulkQueryInvalid("Invalid bulk query: the document must contain exactly one query")
    operation = operations[0]
    if operation.variable_definitions:
        raise BulkQueryInvalid("Invalid bulk query: bulk queries cannot use variables")
    problems = validate(schema, document)
    if problems:
        raise BulkQueryInvalid("Invalid bulk query: " + "; ".join(p.message for p in problems))
    fields = _fields(operation.selection_set)
    if len(fields) != 1:
        raise BulkQueryInvalid("Invalid bulk query: bulk queries must contain exactly one top-level field")
    root = fields[0]
    query_type = schema.query_type
    assert query_type is not None
    root_type = get_named_type(query_type.fields[root.name.value].type)
    if not _is_connection(root_type):
        raise BulkQueryInvalid(
            f"Invalid bulk query: the top-level field {root.name.value!r} must be a connection"
        )
    assert isinstance(root_type, GraphQLObjectType)
    plan = _plan(root, root_type, depth=0)
    total = _count(plan)
    if total > MAX_CONNECTIONS:
        raise BulkQueryInvalid(
            f"Invalid bulk query: bulk queries cannot contain more than {MAX_CONNECTIONS} connections "
            f"(found {total})"
        )
    return root, plan


def _fields(selection_set: SelectionSetNode | None) -> list[FieldNode]:
    if selection_set is None:
        return []
    out = []
    for selection in selection_set.selections:
        if not isinstance(selection, FieldNode):
            raise BulkQueryInvalid(
                "Invalid bulk query: fragments are not supported in bulk queries (sandbox)"
            )
        out.append(selection)
    return out


def _is_connection(gtype: Any) -> bool:
    return isinstance(gtype, GraphQLObjectType) and gtype.name.endswith("Connection")


def _count(plan: Plan) -> int:
    return 1 + sum(_count(child) for child in plan.children)


def _plan(conn: FieldNode, conn_type: GraphQLObjectType, depth: int) -> Plan:
    key = conn.alias.value if conn.alias else conn.name.value
    node_type = get_named_type(conn_type.fields["nodes"].type)
    assert isinstance(node_type, GraphQLObjectType)
    plan: Plan | None = None
    for sub in _fields(conn.selection_set):
        if sub.name.value == "edges":
            for edge_field in _fields(sub.selection_set):
                if edge_field.name.value == "node":
                    plan = _node_plan(key, ("edges", "node"), edge_field, node_type, depth)
        elif sub.name.value == "nodes":
            plan = _node_plan(key, ("nodes",), sub, node_type, depth)
    if plan is None:
        raise BulkQueryInvalid(f"Invalid bulk query: connection {key!r} selects no nodes")
    return plan


def _node_plan(
    key: str, path: tuple[str, ...], node: FieldNode, node_type: GraphQLObjectType, depth: int
) -> Plan:
    plan = Plan(key, path)
    for sub in _fields(node.selection_set):
        if sub.name.value.startswith("__"):
            continue
        sub_type = node_type.fields[sub.name.value].type
        named = get_named_type(sub_type)
        if _is_connection(named):
            assert isinstance(named, GraphQLObjectType)
            if depth + 1 > MAX_NESTING:
                raise BulkQueryInvalid(
                    f"Invalid bulk query: connection {sub.name.value!r} is nested more than {MAX_NESTING} "
                    "levels deep"
                )
            if not any(f.name.value == "id" and f.alias is None for f in _fields(node.selection_set)):
                raise BulkQueryInvalid(
                    f"Invalid bulk query: the parent 'node' field of the nested connection {sub.name.value!r} "
                    "must select the 'id' field without an alias"
                )
            plan.children.append(_plan(sub, named, depth + 1))
        elif isinstance(named, GraphQLObjectType):
            _no_connection_inside(sub, named, is_list_type(get_nullable_type(sub_type)))
    return plan


def _no_connection_inside(node: FieldNode, gtype: GraphQLObjectType, in_list: bool) -> None:
    for sub in _fields(node.selection_set):
        if sub.name.value.startswith("__"):
            continue
        sub_type = gtype.fields[sub.name.value].type
        named = get_named_type(sub_type)
        if _is_connection(named):
            where = "a list field" if in_list else "a non-connection field"
            raise BulkQueryInvalid(
                f"Invalid bulk query: queries that contain a connection field within {where} are not supported"
            )
        if isinstance(named, GraphQLObjectType):
            _no_connection_inside(sub, named, in_list or is_list_type(get_nullable_type(sub_type)))


# execution ------------------------------------------------------------------------------------------------


class Reading:
    """One bulk query being read: each ``step`` reads one page of top-level nodes (the sandbox lets other
    requests in between, so polls are answered while a large export runs)."""

    def __init__(
        self, schema: GraphQLSchema, root: FieldNode, plan: Plan, root_value: Any, context: dict[str, Any]
    ) -> None:
        self._schema = schema
        self._root = root
        self.plan = plan
        self._root_value = root_value
        self._context = context
        self.roots: list[dict[str, Any]] = []
        self._after: str | None = None
        self.done = False
        self.error: str | None = None  # a failure while reading (what was read is the partial data)

    def step(self) -> None:
        field_node = _paged(self._root, self.plan, self._after)
        document = DocumentNode(
            definitions=(
                OperationDefinitionNode(
                    operation=OperationType.QUERY, selection_set=SelectionSetNode(selections=(field_node,))
                ),
            )
        )
        result = execute(self._schema, document, root_value=self._root_value, context_value=self._context)
        assert isinstance(result, ExecutionResult)
        if result.errors or not result.data:
            self.error = "; ".join(e.message for e in result.errors or []) or "no data"
            self.done = True
            return
        page = result.data[self.plan.key]
        self.roots.extend(_nodes(page, self.plan))
        info = page[_PAGE_ALIAS]
        self.done = not info["hasNextPage"]
        self._after = info["endCursor"]

    def lines(self, *, grouped: bool, grouping: str = "levels") -> list[bytes]:
        roots, plan = self.roots, self.plan
        if not grouped:
            return list(_levels(roots, plan))
        if grouping == "depth":
            return list(_grouped(roots, plan, None))
        return [line for root in roots for line in _levels([root], plan)]


def _paged(conn: FieldNode, plan: Plan, after: str | None) -> FieldNode:
    """The connection field with the sandbox's own paging: ``first: PAGE``, the top level also ``after``
    and a ``pageInfo`` to follow; the client's paging arguments are ignored, as Shopify does in bulk."""
    args = [a for a in conn.arguments or () if a.name.value not in _PAGING_ARGS]
    args.append(ArgumentNode(name=NameNode(value="first"), value=IntValueNode(value=str(ROOT_PAGE))))
    if after is not None:
        args.append(ArgumentNode(name=NameNode(value="after"), value=StringValueNode(value=after)))
    selections = (*_rewrite_children(conn.selection_set, plan), _page_info())
    return FieldNode(
        alias=conn.alias,
        name=conn.name,
        arguments=tuple(args),
        directives=conn.directives,
        selection_set=SelectionSetNode(selections=selections),
    )


def _page_info() -> FieldNode:
    leaves = tuple(FieldNode(name=NameNode(value=n)) for n in ("hasNextPage", "endCursor"))
    return FieldNode(
        alias=NameNode(value=_PAGE_ALIAS),
        name=NameNode(value="pageInfo"),
        selection_set=SelectionSetNode(selections=leaves),
    )


def _rewrite_children(selection_set: SelectionSetNode | None, plan: Plan) -> Iterator[FieldNode]:
    """The connection's own selection with each nested connection given ``first: PAGE``."""
    nested = {child.key: child for child in plan.children}
    for sub in _fields(selection_set):
        key = sub.alias.value if sub.alias else sub.name.value
        if sub.name.value in ("edges", "nodes", "node") and sub.selection_set is not None:
            yield _with_selections(sub, tuple(_rewrite_children(sub.selection_set, plan)))
        elif key in nested:
            args = [a for a in sub.arguments or () if a.name.value not in _PAGING_ARGS]
            args.append(ArgumentNode(name=NameNode(value="first"), value=IntValueNode(value=str(PAGE))))
            inner = tuple(_rewrite_children(sub.selection_set, nested[key]))
            yield FieldNode(
                alias=sub.alias,
                name=sub.name,
                arguments=tuple(args),
                directives=sub.directives,
                selection_set=SelectionSetNode(selections=inner),
            )
        else:
            yield sub


def _with_selections(node: FieldNode, selections: tuple[FieldNode, ...]) -> FieldNode:
    return FieldNode(
        alias=node.alias,
        name=node.name,
        arguments=node.arguments,
        directives=node.directives,
        selection_set=SelectionSetNode(selections=selections),
    )


def _nodes(connection: dict[str, Any] | None, plan: Plan) -> list[dict[str, Any]]:
    if connection is None:
        return []
    if plan.node_path == ("nodes",):
        return list(connection.get("nodes") or [])
    return [edge["node"] for edge in connection.get("edges") or []]


def _line(node: dict[str, Any], plan: Plan, parent_id: str | None) -> bytes:
    own = {k: v for k, v in node.items() if k not in {c.key for c in plan.children}}
    if parent_id is not None:
        own["__parentId"] = parent_id
    return orjson.dumps(own)


def _grouped(nodes: list[dict[str, Any]], plan: Plan, parent_id: str | None) -> Iterator[bytes]:
    for node in nodes:
        yield _line(node, plan, parent_id)
        for child in plan.children:
            yield from _grouped(_nodes(node.get(child.key), child), child, node.get("id"))


def _levels(roots: list[dict[str, Any]], plan: Plan) -> Iterator[bytes]:
    level: list[tuple[dict[str, Any], Plan, str | None]] = [(node, plan, None) for node in roots]
    while level:
        following: list[tuple[dict[str, Any], Plan, str | None]] = []
        for node, node_plan, parent_id in level:
            yield _line(node, node_plan, parent_id)
            for child in node_plan.children:
                following.extend((c, child, node.get("id")) for c in _nodes(node.get(child.key), child))
        level = following
