"""Relay connections with opaque keyset cursors, as Shopify pages (``first``/``after``, ``last``/``before``).

A cursor encodes the sort value and id of its record, so a record that changes while a client pages
moves instead of shifting every later page (as on Shopify with ``sortKey: UPDATED_AT``).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import orjson
from graphql import GraphQLError

T = TypeVar("T")
MAX_PAGE = 250


def encode_cursor(key: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(key)).decode().rstrip("=")


def decode_cursor(cursor: str) -> Any:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return _tupled(orjson.loads(base64.urlsafe_b64decode(padded)))
    except (ValueError, orjson.JSONDecodeError):
        raise GraphQLError(f"Invalid cursor for current pagination sort: {cursor!r}") from None


def _tupled(value: Any) -> Any:
    return tuple(_tupled(v) for v in value) if isinstance(value, list) else value


def check_page_args(first: int | None, last: int | None) -> int:
    if (first is None) == (last is None):
        raise GraphQLError("you must provide one of first or last")
    size = first if first is not None else last
    assert size is not None
    if size < 0 or size > MAX_PAGE:
        raise GraphQLError(f"The value of `first`/`last` must be between 0 and {MAX_PAGE}, got {size}.")
    return size


def connection(
    items: Sequence[T],
    *,
    key: Callable[[T], tuple[Any, ...]],  # JSON-native values (ISO strings, ints)
    view: Callable[[T], Any],
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    reverse: bool = False,
    **_ignored: Any,
) -> dict[str, Any]:
    size = check_page_args(first, last)
    ordered = sorted(items, key=key, reverse=reverse)
    keys = [key(item) for item in ordered]

    def after_cursor(k: Any, c: Any) -> bool:
        return bool(k < c) if reverse else bool(k > c)

    start, stop = 0, len(ordered)
    if after is not None:
        c = decode_cursor(after)
        start = next((i for i, k in enumerate(keys) if after_cursor(k, c)), len(ordered))
    if before is not None:
        c = decode_cursor(before)
        stop = next((i for i, k in enumerate(keys) if not after_cursor(c, k)), len(ordered))
        stop = max(stop, start)
    window = list(range(start, stop))
    chosen = window[:size] if first is not None else window[max(0, len(window) - size) :]
    nodes = [view(ordered[i]) for i in chosen]
    edges = [{"cursor": encode_cursor(keys[i]), "node": n} for i, n in zip(chosen, nodes, strict=True)]
    return {
        "nodes": nodes,
        "edges": edges,
        "pageInfo": {
            "hasNextPage": len(window) > size if first is not None else stop < len(ordered),
            "hasPreviousPage": start > 0 if first is not None else len(window) > size,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }
