"""Following cursor/page-number pagination without ever looping forever."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TypeVar

import orjson

from daemon.errors import SyncError
from daemon.http.redaction import scrub

T = TypeVar("T")
I = TypeVar("I")  # noqa: E741


class PagingLoopError(SyncError):
    """The upstream handed out a cursor it had already given: following it would never end."""


def _cursor_key(cursor: object) -> object:
    try:
        hash(cursor)
    except TypeError:
        # dict/list cursors (e.g. a page-info object) compare by content
        return orjson.dumps(cursor, option=orjson.OPT_SORT_KEYS, default=repr)
    return cursor


async def follow_pages(
    fetch: Callable[[T | None], Awaitable[tuple[Sequence[I], T | None]]],
    *,
    max_pages: int | None = None,
) -> AsyncIterator[I]:
    """Yield every item: ``fetch(None)`` first, then ``fetch(next)`` while ``next`` is not None.

    Raises ``PagingLoopError`` when a cursor repeats or more than ``max_pages`` pages arrive.
    """
    seen: set[object] = set()
    cursor: T | None = None
    pages = 0
    while True:
        items, next_cursor = await fetch(cursor)
        pages += 1
        for item in items:
            yield item
        if next_cursor is None:
            return
        key = _cursor_key(next_cursor)
        if key in seen or next_cursor == cursor:
            raise PagingLoopError(
                f"pagination loop: cursor {scrub(str(next_cursor))[:120]!r} was already followed "
                f"(after {pages} pages); stopping"
            )
        if max_pages is not None and pages >= max_pages:
            raise PagingLoopError(
                f"pagination exceeded max_pages={max_pages}; next cursor {scrub(str(next_cursor))[:120]!r}"
            )
        seen.add(key)
        cursor = next_cursor
