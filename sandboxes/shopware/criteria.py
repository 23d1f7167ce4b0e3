"""The Criteria subset the client uses: filters (equals, equalsAny, contains, prefix, suffix, range,
multi, not), ``ids``, sort, page/limit and nested ``associations`` (with their own filter/sort/limit).

Anything else is refused with a 400 so the client can never silently rely on an unimplemented part.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sandboxes.shopware.store import Row, Store

SUPPORTED_KEYS = {"page", "limit", "filter", "sort", "associations", "ids", "total-count-mode"}


class CriteriaError(ValueError):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def parse_when(value: Any) -> datetime | None:
    """DAL date literals: naive ``YYYY-MM-DD HH:MM:SS[.fff]`` (UTC) or ISO 8601 with an offset."""
    if not isinstance(value, str) or len(value) < 10 or value[4] != "-":
        return None
    try:
        parsed = datetime.fromisoformat(value.replace(" ", "T"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _coerce(left: Any, right: Any) -> tuple[Any, Any]:
    """Dates compare as instants, numbers as numbers, anything else as text."""
    left_when, right_when = parse_when(left), parse_when(right)
    if left_when is not None and right_when is not None:
        return left_when, right_when
    numeric = (int, float)
    if isinstance(left, numeric) and isinstance(right, numeric):
        return left, right
    return str(left), str(right)


_RANGE_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "gte": lambda a, b: bool(a >= b),
    "gt": lambda a, b: bool(a > b),
    "lte": lambda a, b: bool(a <= b),
    "lt": lambda a, b: bool(a < b),
}


def _range_ok(value: Any, params: dict[str, Any]) -> bool:
    if value is None:
        return False
    for op, bound in params.items():
        compare = _RANGE_OPS.get(op)
        if compare is None:
            raise CriteriaError("FRAMEWORK__INVALID_FILTER_QUERY", f"unknown range operator {op!r}")
        if not compare(*_coerce(value, bound)):
            return False
    return True


def _leaf(kind: str, raw: dict[str, Any]) -> Callable[[Any], bool]:
    value = raw.get("value")
    if kind == "equals":
        return lambda v: v == value
    if kind == "equalsAny":
        wanted = set(value.split("|")) if isinstance(value, str) else set(value or [])
        return lambda v: v in wanted
    if kind == "contains":
        return lambda v: isinstance(v, str) and str(value).lower() in v.lower()
    if kind == "prefix":
        return lambda v: isinstance(v, str) and v.lower().startswith(str(value).lower())
    if kind == "suffix":
        return lambda v: isinstance(v, str) and v.lower().endswith(str(value).lower())
    if kind == "range":
        params = raw.get("parameters")
        if not isinstance(params, dict):
            raise CriteriaError("FRAMEWORK__INVALID_FILTER_QUERY", "range filter needs parameters")
        return lambda v: _range_ok(v, params)
    raise CriteriaError("FRAMEWORK__INVALID_FILTER_QUERY", f"filter type {kind!r} is not supported")


def matches(store: Store, entity: str, row: Row, raw: dict[str, Any]) -> bool:
    kind = raw.get("type")
    if kind in ("multi", "not"):
        operator = str(raw.get("operator", "and")).lower()
        results = [matches(store, entity, row, q) for q in raw.get("queries", [])]
        combined = any(results) if operator in ("or", "nor") else all(results)
        negate = kind == "not" or operator in ("nor", "nand")
        return not combined if negate else combined
    field = raw.get("field")
    if not isinstance(kind, str) or not isinstance(field, str):
        raise CriteriaError("FRAMEWORK__INVALID_FILTER_QUERY", f"malformed filter {raw!r}")
    test = _leaf(kind, raw)
    try:
        values = store.values(entity, row, field)
    except LookupError as exc:
        raise CriteriaError("FRAMEWORK__INVALID_FILTER_QUERY", str(exc)) from None
    if kind == "equals" and raw.get("value") is None:
        return not values or any(v is None for v in values)
    return any(test(v) for v in values)


def _sort_key(store: Store, entity: str, field: str) -> Callable[[Row], tuple[int, Any]]:
    def key(row: Row) -> tuple[int, Any]:
        try:
            values = [v for v in store.values(entity, row, field) if v is not None]
        except LookupError as exc:
            raise CriteriaError("FRAMEWORK__INVALID_SORT_QUERY", str(exc)) from None
        if not values:
            return (0, "")  # NULL first in ascending order, like MySQL
        first = values[0]
        when = parse_when(first)
        return (1, when if when is not None else first)

    return key


def select(store: Store, entity: str, rows: list[Row], criteria: dict[str, Any]) -> list[Row]:
    unknown = set(criteria) - SUPPORTED_KEYS
    if unknown:
        raise CriteriaError(
            "SANDBOX__UNSUPPORTED_CRITERIA", f"criteria keys not supported: {sorted(unknown)}"
        )
    ids = criteria.get("ids")
    if ids:
        rows = [r for r in rows if r["id"] in set(ids)]
    for raw in criteria.get("filter") or []:
        rows = [r for r in rows if matches(store, entity, r, raw)]
    for sort in reversed(criteria.get("sort") or []):
        descending = str(sort.get("order", "ASC")).upper() == "DESC"
        rows.sort(key=_sort_key(store, entity, str(sort.get("field"))), reverse=descending)
    limit = criteria.get("limit")
    if limit is not None:
        page = int(criteria.get("page") or 1)
        if page < 1 or int(limit) < 1:
            raise CriteriaError("FRAMEWORK__INVALID_CRITERIA", "page and limit must be positive")
        rows = rows[(page - 1) * int(limit) : page * int(limit)]
    return rows


def render(store: Store, entity: str, row: Row, criteria: dict[str, Any], inherit: bool = False) -> Row:
    """The row as the API shows it: unset (null) fields left out, requested associations added.

    Nulls are omitted because the spec declares no field nullable; a real shop sends ``null``, which
    the client's mapping handles as well (tested on such payloads).
    """
    source = dict(row)
    if inherit and entity == "product" and row.get("parentId"):
        parent = store.get("product", row["parentId"]) or {}
        for key, value in parent.items():
            if source.get(key) is None and key not in ("parentId", "childCount", "autoIncrement"):
                source[key] = value
        source["translated"] = {"name": source.get("name")}
    out = {k: v for k, v in source.items() if v is not None and not k.startswith("_")}
    for name, sub in (criteria.get("associations") or {}).items():
        assoc = store.association(entity, name)
        if assoc is None:
            raise CriteriaError(
                "FRAMEWORK__ASSOCIATION_NOT_FOUND", f'Can not find association by name "{name}" in {entity}'
            )
        sub = sub or {}
        related = store.related(entity, row, name)
        if assoc.many:
            chosen = select(store, assoc.target, related, sub)
            out[name] = [render(store, assoc.target, r, sub, inherit) for r in chosen]
        elif related:
            out[name] = render(store, assoc.target, related[0], sub, inherit)
    return out
