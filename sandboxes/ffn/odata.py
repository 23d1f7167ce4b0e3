"""The slice of OData the list endpoints need: ``$filter`` with ``eq``/``and``, ``$top``/``$skip`` paging."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web
from yarl import URL

from sandboxes.ffn.respond import validation_error

# field eq 'string' (quotes doubled inside) | number | true/false/null
_CLAUSE = re.compile(
    r"\s*(?P<field>[A-Za-z][\w/]*)\s+eq\s+(?:'(?P<str>(?:[^']|'')*)'|(?P<lit>[\w.\-]+))\s*(?:\band\b|$)",
    re.IGNORECASE,
)


def parse_filter(expression: str) -> list[tuple[str, Any]]:
    """``merchantSku eq 'O''Neil' and status eq 'Pending'`` -> [(path, value), ...]."""
    clauses: list[tuple[str, Any]] = []
    position = 0
    expression = expression.strip()
    while position < len(expression):
        match = _CLAUSE.match(expression, position)
        if match is None or match.end() == position:
            raise validation_error(
                f"unsupported $filter near {expression[position : position + 40]!r}; "
                "this sandbox supports: field eq 'value' [and ...]",
                "$filter",
            )
        value: Any
        if match.group("str") is not None:
            value = match.group("str").replace("''", "'")
        else:
            value = _literal(match.group("lit"))
        clauses.append((match.group("field"), value))
        position = match.end()
    return clauses


def _literal(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    try:
        return int(text)
    except ValueError:
        return text


def _values_at(doc: Any, path: Sequence[str]) -> list[Any]:
    """All values at a slash path; lists fan out (``items/jfsku`` matches any item)."""
    if not path:
        return doc if isinstance(doc, list) else [doc]
    if isinstance(doc, list):
        return [v for element in doc for v in _values_at(element, path)]
    if isinstance(doc, Mapping):
        return _values_at(doc.get(path[0]), path[1:])
    return []


def matches(doc: Mapping[str, Any], clauses: list[tuple[str, Any]]) -> bool:
    return all(value in _values_at(doc, field.split("/")) for field, value in clauses)


def int_param(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise validation_error(f"{name} must be an integer, got {raw!r}", name) from None
    if value < 0:
        raise validation_error(f"{name} must not be negative, got {value}", name)
    return value


def paged(request: web.Request, docs: Sequence[Mapping[str, Any]], default_top: int) -> dict[str, Any]:
    """A ``Paged*Response`` envelope for ``docs`` after ``$filter``, ``$skip`` and ``$top``."""
    expression = request.query.get("$filter")
    if expression:
        clauses = parse_filter(expression)
        docs = [d for d in docs if matches(d, clauses)]
    top = int_param(request, "$top", default_top)
    skip = int_param(request, "$skip", 0)
    page = list(docs[skip : skip + top])
    body: dict[str, Any] = {
        "items": page,
        "_page": {"total": len(docs), "limit": top, "offset": skip},
        "count": len(page),
    }
    links: dict[str, str] = {}
    if skip > 0:
        links["previous"] = str(_with(request.url, top, max(0, skip - top)))
    if skip + top < len(docs):
        links["next"] = str(_with(request.url, top, skip + top))
        body["nextPageLink"] = links["next"]
    body["_links"] = links
    return body


def _with(url: URL, top: int, skip: int) -> URL:
    return url.update_query({"$top": str(top), "$skip": str(skip)})
