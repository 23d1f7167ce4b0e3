"""The updates feeds (time windows, chunks via ``nextChunkUrl``) and ``stocks/complete``.

Stock is reported for the configured warehouse only: outbounds are created there, so stock elsewhere
cannot serve the shop's orders. ``stocks/complete`` yields every product (zero when the warehouse has
none of it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from adapters.ffn import paths
from adapters.ffn.mapping import (
    fmt_dt,
    fulfiller_status,
    parse_dt,
    shipment_from,
    stock_level_from_change,
    stock_level_from_stock,
)
from adapters.ffn.setup import SetupData
from daemon.errors import RetryableError
from daemon.http import HttpClient, encode_query, follow_pages
from daemon.model import FulfillerStatus, Shipment, StockLevel, Window

T = TypeVar("T")
PageMapper = Callable[[list[dict[str, Any]]], Awaitable[Sequence[T]]]


def _window_params(window: Window) -> dict[str, Any]:
    return {"fromDate": fmt_dt(window.start), "toDate": fmt_dt(window.end)}


async def _window(
    http: HttpClient, path: str, window: Window, list_key: str, mapper: PageMapper[T]
) -> AsyncIterator[T]:
    """Every record of ``window``. The answer says in ``to`` how far it reached; when that is short
    of the asked ``toDate`` the rest is asked for from there, so the cursor (moved to the window's
    end by the engine) never passes time FFN has not reported on."""
    start = window.start
    while True:
        reached: list[datetime] = []
        async for item in _chunks(
            http, path, _window_params(Window(start, window.end)), list_key, mapper, reached
        ):
            yield item
        to = reached[-1] if reached else None
        if to is None or to >= window.end:
            return
        if to <= start:
            raise RetryableError(
                f"FFN answered {path} for {fmt_dt(start)}..{fmt_dt(window.end)} only up to {fmt_dt(to)}; "
                "the window is asked for again next cycle",
                upstream="ffn",
            )
        start = to


def _chunks(
    http: HttpClient,
    path: str,
    params: dict[str, Any] | None,
    list_key: str,
    mapper: PageMapper[T],
    reached: list[datetime] | None = None,
) -> AsyncIterator[T]:
    """Follow ``nextChunkUrl`` (exactly as returned, whatever host) while ``moreDataAvailable``;
    the ``to`` of the last chunk goes to ``reached``."""

    page = 1

    async def fetch(cursor: str | None) -> tuple[Sequence[T], str | None]:
        nonlocal page
        body = await http.get_json(cursor) if cursor is not None else await http.get_json(path, params=params)
        body = body or {}
        items = await mapper(list(body.get(list_key) or []))
        if not body.get("moreDataAvailable"):
            to = parse_dt(body.get("to"))
            if reached is not None and to is not None:
                reached.append(to)
            return items, None
        page += 1
        next_url = body.get("nextChunkUrl")
        if not next_url:
            # More data but no link: ask for the next page number of the same window ourselves.
            next_url = f"{path}?{encode_query({**(params or {}), 'page': page})}"
        return items, str(next_url)

    return follow_pages(fetch)


class Feeds:
    def __init__(
        self, http: HttpClient, setup: SetupData, *, warehouse_id: str, stock_input: str = "net"
    ) -> None:
        self._http = http
        self._setup = setup
        self._warehouse_id = warehouse_id
        self._stock_input = stock_input

    def outbound_changes(self, window: Window) -> AsyncIterator[FulfillerStatus]:
        async def mapper(docs: list[dict[str, Any]]) -> list[FulfillerStatus]:
            return [fulfiller_status(d) for d in docs]

        return _window(self._http, paths.OUTBOUND_UPDATES, window, "data", mapper)

    def shipping_notifications(self, window: Window) -> AsyncIterator[Shipment]:
        async def mapper(docs: list[dict[str, Any]]) -> list[Shipment]:
            method_ids = {str(p.get("shippingMethodId")) for d in docs for p in d.get("packages") or []}
            carriers = await self._setup.carriers(method_ids)
            return [shipment_from(d, carriers) for d in docs]

        return _window(self._http, paths.SHIPPING_NOTIFICATION_UPDATES, window, "data", mapper)

    def stock_changes(self, window: Window) -> AsyncIterator[StockLevel]:
        async def mapper(docs: list[dict[str, Any]]) -> list[StockLevel]:
            levels = [stock_level_from_change(d, self._stock_input) for d in docs]
            return [level for level in levels if level.warehouse_id == self._warehouse_id]

        return _window(self._http, paths.STOCK_UPDATES, window, "data", mapper)

    def stock_complete(self) -> AsyncIterator[StockLevel]:
        async def mapper(docs: list[dict[str, Any]]) -> list[StockLevel]:
            return [stock_level_from_stock(d, self._warehouse_id, self._stock_input) for d in docs]

        return _chunks(self._http, paths.STOCKS_COMPLETE, None, "items", mapper)
