"""Building request URLs with strictly encoded query strings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlencode

# Characters kept as they are in a caller's relative path: reserved delimiters and existing escapes,
# so "orders/12%2F3" stays intact while a stray space is still encoded.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~?"


def is_absolute(url: str) -> bool:
    return url.startswith(("http://", "https://"))


def query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def query_pairs(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """None values are dropped; lists/tuples repeat the key."""
    pairs: list[tuple[str, str]] = []
    for name, value in params.items():
        if value is None:
            continue
        values: Iterable[Any] = value if isinstance(value, list | tuple) else (value,)
        pairs.extend((name, query_value(item)) for item in values if item is not None)
    return pairs


def encode_query(*param_sets: Mapping[str, Any] | None) -> str:
    """Every reserved character percent-encoded: '+' is %2B (a literal plus), space is %20."""
    pairs: list[tuple[str, str]] = []
    for params in param_sets:
        if params:
            pairs.extend(query_pairs(params))
    return urlencode(pairs, quote_via=quote, safe="")


def build_url(base_url: str, url: str, *param_sets: Mapping[str, Any] | None) -> str:
    """Absolute URLs (e.g. a next-page link) are taken as already encoded; relative ones join base_url."""
    if is_absolute(url):
        target = url
    else:
        path = _quoted_path(url)
        target = f"{base_url.rstrip('/')}/{path}" if path else base_url
    return with_query(target, *param_sets)


def with_query(target: str, *param_sets: Mapping[str, Any] | None) -> str:
    """``target`` with the parameters appended to its query (``build_url`` of a URL already built)."""
    query = encode_query(*param_sets)
    if query:
        target += ("&" if "?" in target else "?") + query
    return target


@lru_cache(maxsize=4096)
def _quoted_path(url: str) -> str:
    # A fleet's polls ask the same few paths over and over (per request, quote() was a visible share).
    return quote(url.lstrip("/"), safe=_PATH_SAFE)
