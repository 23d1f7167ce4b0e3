"""Reading orders: changed-order pages with lines inline, extra line pages for big orders."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any

from loguru import logger

from adapters.shopify import queries
from adapters.shopify.mapping import MappingError, map_order, parse_time, shopify_time
from adapters.shopify.transport import CostExceedsBucket, GraphQLTransport, Operation
from daemon.model import ShopOrder, UnreadableOrder, Window


def window_query(window: Window) -> tuple[str, datetime, datetime]:
    """The ``query:`` filter for a window, widened to whole seconds (Shopify's granularity)."""
    start = window.start.replace(microsecond=0)
    end = (
        window.end
        if window.end.microsecond == 0
        else window.end.replace(microsecond=0) + timedelta(seconds=1)
    )
    return f"updated_at:>='{shopify_time(start)}' AND updated_at:<'{shopify_time(end)}'", start, end


async def sized_query(
    transport: GraphQLTransport,
    op: Operation,
    variables: dict[str, Any],
    page_size: Callable[[], int],
    cost: Callable[[int], int],
) -> dict[str, Any]:
    """A page query (``first`` sized to the bucket), resized once if the bucket is smaller than assumed."""
    try:
        first = page_size()
        return await transport.query(op, {**variables, "first": first}, estimate=cost(first))
    except CostExceedsBucket:
        # That answer told the bucket's real size; page_size() now fits it.
        first = page_size()
        return await transport.query(op, {**variables, "first": first}, estimate=cost(first))


def page_budget(transport: GraphQLTransport) -> int:
    """Requested points one page may ask for: well under the bucket and under the single-query cap."""
    maximum = transport.bucket.maximum or 2000.0
    return int(min(queries.MAX_QUERY_COST * 0.8, maximum * 0.4))


class OrderReader:
    def __init__(self, transport: GraphQLTransport, page_size: int) -> None:
        self._transport = transport
        self._page_size = page_size

    def orders_per_page(self) -> int:
        per_order = queries.order_node_cost(queries.INLINE_LINES)
        return max(1, min(self._page_size, (page_budget(self._transport) - 2) // per_order))

    async def changed(self, window: Window) -> AsyncIterator[ShopOrder | UnreadableOrder]:
        text, start, end = window_query(window)
        after: str | None = None
        while True:
            data = await sized_query(
                self._transport,
                queries.CHANGED_ORDERS,
                {"after": after, "q": text, "lines": queries.INLINE_LINES},
                self.orders_per_page,
                queries.orders_page_cost,
            )
            page = data["orders"]
            for node in page["nodes"]:
                updated = parse_time(node.get("updatedAt"), f"order {node.get('id')} updatedAt")
                if not start <= updated < end:
                    # Shopify's filter has been wrong before; the window is ours to enforce.
                    logger.debug(
                        f"shopify order {node.get('id')} updatedAt {updated} outside the window; skipped"
                    )
                    continue
                try:
                    yield await self._map(node)
                except MappingError as exc:
                    number = str(node.get("name") or "").lstrip("#") or None
                    yield UnreadableOrder(str(node.get("id")), number, f"cannot be read: {exc}", updated)
            if not page["pageInfo"]["hasNextPage"]:
                return
            after = page["pageInfo"]["endCursor"]

    async def get(self, order_id: str) -> ShopOrder | None:
        data = await self._transport.query(queries.ORDER, {"id": order_id, "lines": queries.INLINE_LINES})
        node = data.get("order")
        return await self._complete(node) if node else None

    async def _complete(self, node: dict[str, Any]) -> ShopOrder | None:
        try:
            return await self._map(node)
        except MappingError as exc:
            logger.error(f"shopify order {node.get('id')} {node.get('name')} cannot be read: {exc}; skipped")
            return None

    async def _map(self, node: dict[str, Any]) -> ShopOrder:
        """The order with all its line items; raises MappingError when it cannot be read."""
        extra: list[dict[str, Any]] = []
        line_page = node.get("lineItems") or {}
        after = (line_page.get("pageInfo") or {}).get("endCursor")
        more = bool((line_page.get("pageInfo") or {}).get("hasNextPage"))
        while more:
            data = await self._transport.query(
                queries.ORDER_LINES, {"id": node["id"], "first": queries.EXTRA_LINES_PAGE, "after": after}
            )
            lines = (data.get("order") or {}).get("lineItems") or {"nodes": [], "pageInfo": {}}
            extra.extend(lines["nodes"])
            more = bool(lines["pageInfo"].get("hasNextPage"))
            after = lines["pageInfo"].get("endCursor")
        return map_order(node, extra)
