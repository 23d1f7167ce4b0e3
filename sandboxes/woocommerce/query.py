"""Filtering and ordering of a collection request, as the WooCommerce CRUD controller does it."""

from __future__ import annotations

import bisect
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

from aiohttp import web

from sandboxes.woocommerce.dates import parse_filter_date
from sandboxes.woocommerce.responses import bool_param, list_param
from sandboxes.woocommerce.state import ShopState

T = TypeVar("T")

_ORDERBY = {"date", "id", "include", "title", "slug", "modified", "price", "popularity", "rating"}


def select(
    request: web.Request,
    state: ShopState,
    rows: Sequence[T],
    *,
    ident: Callable[[T], int],
    created: Callable[[T], datetime],
    modified: Callable[[T], datetime],
    title: Callable[[T], str],
) -> list[T]:
    """Rows matching the date and id filters, sorted; ValueError carries the offending parameter."""
    gmt = bool_param(request, "dates_are_gmt")
    bounds: list[tuple[str, Callable[[T], datetime], bool]] = [
        ("after", created, True),
        ("before", created, False),
        ("modified_after", modified, True),
        ("modified_before", modified, False),
    ]
    selected = list(rows)
    for name, column, is_after in bounds:
        raw = request.query.get(name)
        if raw is None:
            continue
        try:
            naive_limit = parse_filter_date(raw, state.tz)
        except ValueError:
            raise ValueError(name) from None
        # The column's naive value compared with the naive limit equals comparing both as instants.
        limit = naive_limit.replace(tzinfo=UTC if gmt else state.tz)
        selected = [row for row in selected if _beyond(column(row), limit, is_after)]
    include = _int_list(request, "include")
    if include:
        selected = [row for row in selected if ident(row) in include]
    exclude = _int_list(request, "exclude")
    if exclude:
        selected = [row for row in selected if ident(row) not in exclude]
    return _sorted(request, selected, ident=ident, created=created, modified=modified, title=title)


def _sorted(
    request: web.Request,
    rows: list[T],
    *,
    ident: Callable[[T], int],
    created: Callable[[T], datetime],
    modified: Callable[[T], datetime],
    title: Callable[[T], str],
) -> list[T]:
    orderby = request.query.get("orderby", "date")
    if orderby not in _ORDERBY:
        raise ValueError("orderby")
    direction = request.query.get("order", "desc")
    if direction not in ("asc", "desc"):
        raise ValueError("order")
    reverse = direction == "desc"
    if orderby == "include":
        order = _int_list(request, "include")
        return sorted(rows, key=lambda r: order.index(ident(r)) if ident(r) in order else len(order))
    if orderby in ("title", "slug"):
        return sorted(rows, key=lambda r: (title(r), ident(r)), reverse=reverse)
    if orderby == "modified":
        # The controller appends " ID" to date orderings so paging is stable.
        return sorted(rows, key=lambda r: (modified(r), ident(r)), reverse=reverse)
    if orderby == "date":
        return sorted(rows, key=lambda r: (created(r), ident(r)), reverse=reverse)
    return sorted(rows, key=ident, reverse=reverse)


def _int_list(request: web.Request, name: str) -> list[int]:
    try:
        return [int(v) for v in list_param(request, name)]
    except ValueError:
        raise ValueError(name) from None


def _beyond(value: datetime, limit: datetime, is_after: bool) -> bool:
    return value > limit if is_after else value < limit


def modified_slice(
    request: web.Request, state: ShopState, keys: list[tuple[datetime, int]]
) -> list[int] | None:
    """Ids of a plain ``orderby=modified&order=asc`` window straight from a sorted
    ``(modified, id)`` index; None when the request needs the general path."""
    query = request.query
    if query.get("orderby") != "modified" or query.get("order") != "asc":
        return None
    if any(name in query for name in ("after", "before", "include", "include[]", "exclude", "exclude[]")):
        return None
    gmt = bool_param(request, "dates_are_gmt")
    start, end = 0, len(keys)
    try:
        if "modified_after" in query:
            after = parse_filter_date(query["modified_after"], state.tz).replace(
                tzinfo=UTC if gmt else state.tz
            )
            start = bisect.bisect_right(keys, (after, sys.maxsize))
        if "modified_before" in query:
            before = parse_filter_date(query["modified_before"], state.tz).replace(
                tzinfo=UTC if gmt else state.tz
            )
            end = bisect.bisect_left(keys, (before, -1))
    except ValueError:
        return None  # the general path names the bad parameter
    return [ident for _, ident in keys[start:end]]
