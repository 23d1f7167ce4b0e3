"""Shopify's search syntax for the ``query:`` argument (the subset the adapter relies on).

``field:value`` terms with comparators (``:>=``, ``:>``, ``:<``, ``:<=``), quoted values, implicit or
explicit ``AND``, ``OR`` (binding looser than AND), ``NOT``/``-`` negation. Date values must be quoted
ISO timestamps in UTC (``'2026-11-23T10:00:00Z'``); as on Shopify, an unquoted timestamp loses its time
part and a value with another offset matches nothing. Unknown fields are ignored with a warning.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<op>\bAND\b|\bOR\b|\bNOT\b)
      | (?P<neg>-)?(?P<field>[a-z_]+):(?P<cmp>>=|<=|>|<)?
        (?:'(?P<sq>(?:[^'\\]|\\.)*)'|"(?P<dq>(?:[^"\\]|\\.)*)"|(?P<bare>[^\s()]+))
      | (?P<text>[^\s()]+)
    )""",
    re.VERBOSE,
)
_UTC_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})")


@dataclass(frozen=True, slots=True)
class Term:
    field: str
    comparator: str  # "", ">=", ">", "<", "<="
    value: str
    quoted: bool
    negated: bool = False
    time: datetime | None = None  # the value as a timestamp, when it is one


# field name -> function(record) giving the value(s) to compare: datetime, str, or a list of str
Accessors = Mapping[str, Callable[[Any], Any]]


@dataclass
class SearchFilter:
    groups: list[list[Term]]  # OR of ANDs
    warnings: list[dict[str, str]]

    def matches(self, record: Any, accessors: Accessors) -> bool:
        if not self.groups:
            return True
        return any(all(_term_matches(t, record, accessors) for t in group) for group in self.groups)


def parse(query: str | None, accessors: Accessors) -> SearchFilter:
    groups: list[list[Term]] = [[]]
    warnings: list[dict[str, str]] = []
    negate_next = False
    for m in _TOKEN.finditer(query or ""):
        if m.group("op") == "OR":
            groups.append([])
        elif m.group("op") == "NOT":
            negate_next = True
        elif m.group("op") == "AND":
            continue
        elif m.group("field"):
            field = m.group("field")
            if field not in accessors:
                warnings.append({"field": field, "message": "Invalid search field for this query."})
                continue
            quoted = m.group("sq") is not None or m.group("dq") is not None
            raw = m.group("sq") if m.group("sq") is not None else m.group("dq") or m.group("bare") or ""
            value = re.sub(r"\\(.)", r"\1", raw)
            negated = negate_next or bool(m.group("neg"))
            term = Term(field, m.group("cmp") or "", value, quoted, negated)
            groups[-1].append(Term(field, term.comparator, value, quoted, negated, _as_time(term)))
            negate_next = False
        elif m.group("text"):
            warnings.append(
                {"field": "default", "message": "Free-text search is not supported by the sandbox."}
            )
    return SearchFilter([g for g in groups if g], warnings)


def _as_time(term: Term) -> datetime | None:
    if term.quoted and _UTC_STAMP.match(term.value):
        return datetime.fromisoformat(term.value.replace("Z", "+00:00"))
    if not term.quoted and (day := _DATE.match(term.value)):
        # Shopify drops the time part of an unquoted timestamp.
        return datetime.fromisoformat(day.group(1)).replace(tzinfo=UTC)
    return None


def _term_matches(term: Term, record: Any, accessors: Accessors) -> bool:
    actual = accessors[term.field](record)
    result: bool
    if isinstance(actual, datetime):
        wanted = term.time
        if wanted is None:
            return False
        result = {
            "": actual == wanted,
            ">=": actual >= wanted,
            ">": actual > wanted,
            "<": actual < wanted,
            "<=": actual <= wanted,
        }[term.comparator]
    elif isinstance(actual, list):
        result = term.value in actual
    else:
        result = actual is not None and str(actual).lower() == term.value.lower()
    return result != term.negated
