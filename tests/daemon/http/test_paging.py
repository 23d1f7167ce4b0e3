from __future__ import annotations

from collections.abc import Sequence

import pytest

from daemon.errors import SyncError
from daemon.http import PagingLoopError, follow_pages


def pages_from(chain: dict[str | None, tuple[list[int], str | None]]):  # type: ignore[no-untyped-def]
    asked: list[str | None] = []

    async def fetch(cursor: str | None) -> tuple[Sequence[int], str | None]:
        asked.append(cursor)
        return chain[cursor]

    return fetch, asked


async def test_follows_until_no_next_cursor() -> None:
    fetch, asked = pages_from({None: ([1, 2], "c2"), "c2": ([3], "c3"), "c3": ([], None)})
    assert [item async for item in follow_pages(fetch)] == [1, 2, 3]
    assert asked == [None, "c2", "c3"]


async def test_repeated_cursor_is_a_loop() -> None:
    fetch, asked = pages_from({None: ([1], "a"), "a": ([2], "b"), "b": ([3], "a")})
    items: list[int] = []
    with pytest.raises(PagingLoopError, match="'a' was already followed"):
        async for item in follow_pages(fetch):
            items.append(item)
    assert items == [1, 2, 3]
    assert asked == [None, "a", "b"]
    assert issubclass(PagingLoopError, SyncError)


async def test_cursor_pointing_at_itself_is_a_loop() -> None:
    fetch, _ = pages_from({None: ([1], "same"), "same": ([2], "same")})
    with pytest.raises(PagingLoopError):
        _ = [item async for item in follow_pages(fetch)]


async def test_unhashable_cursors_compare_by_content() -> None:
    async def fetch(cursor: dict[str, int] | None) -> tuple[Sequence[int], dict[str, int] | None]:
        page = 0 if cursor is None else cursor["page"]
        return [page], {"page": min(page + 1, 2)}

    with pytest.raises(PagingLoopError):
        _ = [item async for item in follow_pages(fetch)]


async def test_max_pages_guard() -> None:
    async def endless(cursor: int | None) -> tuple[Sequence[int], int | None]:
        page = (cursor or 0) + 1
        return [page], page

    with pytest.raises(PagingLoopError, match="max_pages=3"):
        _ = [item async for item in follow_pages(endless, max_pages=3)]
