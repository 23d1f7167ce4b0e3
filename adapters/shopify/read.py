"""Reading orders: changed-order pages with lines and FFN-location fulfillment orders inline, extra pages for
big orders, and each cycle a cheap re-check of the orders waiting on a Shopify hold or schedule (releasing a
hold does not change ``updatedAt``, so the delta pull alone would never see the release)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol

from loguru import logger

from adapters.shopify import queries
from adapters.shopify.gate import (
    LocationShare,
    is_waiting,
    location_query,
    location_share,
    nothing_here,
    waiting_reason,
)
from adapters.shopify.mapping import (
    MappingError,
    ensure_every_line_read,
    fulfillment_order_lines,
    map_order,
    order_number,
    parse_time,
    readable_lines,
    shopify_time,
)
from adapters.shopify.state import ShopifyState
from adapters.shopify.transport import CostExceedsBucket, GraphQLTransport, Operation
from daemon.errors import ChannelFatalError
from daemon.model import ShopOrder, Window
from daemon.ports import MAPPING_ERRORS, UnreadableOrder


class RestReader(Protocol):
    """Who may take over the rest of a paged read after its first page (``OrderReader.changed``)."""

    first_page: int  # at most this many orders on the first page
    count_limit: int  # the first page's request counts the window's orders up to this many

    async def take(
        self, rest: Window, count: int | None, read: Mapping[str, datetime]
    ) -> AsyncIterator[ShopOrder | UnreadableOrder] | None:
        """The reader of ``rest`` (None: the pages go on); ``count``: the window's orders as counted with
        the first page (at most ``count_limit``; None: not answered); ``read`` was handed on already."""
        ...


# Pages of a fulfillment order's lines read at most (10,000 lines): a server that kept answering "more"
# would otherwise hold the read forever; the order is then parked (ensure_every_line_read).
MAX_FO_LINE_PAGES = 200
MIN_ORDERS_PAGE = 4  # a nearly empty bucket still reads a few orders per page (2 points of overhead each)


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


def _capped(page_size: Callable[[], int], cap: int) -> int:
    return min(cap, page_size())


def page_budget(transport: GraphQLTransport) -> int:
    """Requested points one page may ask for: well under the bucket and under the single-query cap."""
    maximum = transport.bucket.maximum or 2000.0
    return int(min(queries.MAX_QUERY_COST * 0.8, maximum * 0.4))


class OrderReader:
    def __init__(
        self,
        transport: GraphQLTransport,
        page_size: int,
        *,
        location_id: str,
        state: ShopifyState,
        include_test_orders: bool = False,
    ) -> None:
        self._transport = transport
        self._page_size = page_size
        self._location_id = location_id
        self._fo_query = location_query(location_id)
        self._state = state
        self._include_test = include_test_orders
        self._waiting: dict[str, str] | None = None  # loaded once, then kept in step with the state
        self._is_service_location: bool | None = None  # read once: a location does not change its kind

    def orders_per_page(self) -> int:
        """As many orders as a page's budget allows, fewer while the bucket runs low: a page's requested
        points must be in the bucket before it runs, and the few orders a webhook-triggered read finds
        should not wait seconds for room the page will refund unused (a page costs only 2 points more)."""
        per_order = queries.order_node_cost(queries.INLINE_LINES)
        fits = (page_budget(self._transport) - 2) // per_order
        available = self._transport.bucket.available()
        if available != float("inf"):
            fits = min(fits, max(MIN_ORDERS_PAGE, int(available - 2) // per_order))
        return max(1, min(self._page_size, fits))

    async def versions(self, window: Window) -> AsyncIterator[tuple[str, datetime]]:
        """(id, updatedAt) of the orders changed in the window, oldest change first: 1 point per order."""
        text, start, end = window_query(window)
        after: str | None = None
        while True:
            data = await self._transport.query(
                queries.ORDER_VERSIONS, {"first": queries.VERSIONS_PAGE, "after": after, "q": text}
            )
            page = data["orders"]
            for node in page["nodes"]:
                updated = parse_time(node.get("updatedAt"), f"order {node.get('id')} updatedAt")
                if start <= updated < end:
                    yield str(node["id"]), updated
            if not page["pageInfo"]["hasNextPage"]:
                return
            after = page["pageInfo"]["endCursor"]

    async def changed(
        self,
        window: Window,
        *,
        read_before: Mapping[str, datetime] | None = None,
        rest: RestReader | None = None,
    ) -> AsyncIterator[ShopOrder | UnreadableOrder]:
        """The window's orders page by page, then the re-check of orders waiting on a hold.

        ``read_before``: orders an earlier part of this read handed on already (id → updatedAt), not handed
        on again at that version. ``rest``: after a full first page, may take the rest of the window over
        (a bulk read): asked once with the rest (from the page's last change on) and what was read.
        """
        text, start, end = window_query(window)
        after: str | None = None
        read: dict[str, datetime] = dict(read_before or {})
        variables = {"q": text, "lines": queries.INLINE_LINES, "foQuery": self._fo_query}
        while True:
            if rest is not None and after is None:  # a poll's first page, with the window's count
                data = await sized_query(
                    self._transport,
                    queries.POLL_ORDERS,
                    {**variables, "limit": rest.count_limit},
                    partial(_capped, self.orders_per_page, rest.first_page),
                    queries.poll_page_cost,
                )
            else:
                data = await sized_query(
                    self._transport,
                    queries.CHANGED_ORDERS,
                    {**variables, "after": after},
                    self.orders_per_page,
                    queries.orders_page_cost,
                )
            page = data["orders"]
            last: datetime | None = None
            for node in page["nodes"]:
                updated = parse_time(node.get("updatedAt"), f"order {node.get('id')} updatedAt")
                if not start <= updated < end:
                    # Shopify's filter has been wrong before; the window is ours to enforce.
                    logger.debug(
                        f"shopify order {node.get('id')} updatedAt {updated} outside the window; skipped"
                    )
                    continue
                last = updated
                if read.get(str(node.get("id"))) == updated:
                    continue
                read[str(node.get("id"))] = updated
                yield await self._map(node)
            if not page["pageInfo"]["hasNextPage"]:
                break
            if rest is not None and last is not None:
                count = (data.get("ordersCount") or {}).get("count")
                taken = await rest.take(
                    Window(last, window.end), count if isinstance(count, int) else None, read
                )
                if taken is not None:
                    async for order in taken:
                        yield order
                    return  # the rest's reader ran the waiting-order re-check
            rest = None
            after = page["pageInfo"]["endCursor"]
        async for released in self._released(set(read)):
            yield released

    async def _released(self, just_read: set[str]) -> AsyncIterator[ShopOrder | UnreadableOrder]:
        """Orders that were waiting on a hold or schedule at the FFN location and no longer are."""
        waiting = await self._waiting_orders()
        ids = [order_id for order_id in waiting if order_id not in just_read]
        for start in range(0, len(ids), queries.WAITING_PAGE):
            chunk = ids[start : start + queries.WAITING_PAGE]
            q = " OR ".join(f"id:{order_id.rsplit('/', 1)[-1]}" for order_id in chunk)
            data = await self._transport.query(
                queries.WAITING_ORDERS,
                {"first": len(chunk), "q": q, "foQuery": self._fo_query},
                estimate=2 + len(chunk) * (3 + queries.WAITING_FO_PAGE),
            )
            seen = set()
            for node in (data.get("orders") or {}).get("nodes") or []:
                seen.add(node["id"])
                statuses = [
                    fo.get("status") for fo in (node.get("fulfillmentOrders") or {}).get("nodes") or []
                ]
                if node.get("cancelledAt") is None and is_waiting(statuses):
                    continue
                order = await self.get(node["id"])
                if order is not None:
                    logger.info(
                        f"shopify order {order.number or order.order_id}: released in Shopify "
                        f"(was {waiting[node['id']]}); read again"
                    )
                    yield order
            for gone in set(chunk) - seen:  # deleted in Shopify: nothing to wait for
                await self._remember(gone, None)

    async def _waiting_orders(self) -> dict[str, str]:
        if self._waiting is None:
            self._waiting = await self._state.waiting_orders()
        return dict(self._waiting)

    async def _remember(self, order_id: str, reason: str | None) -> None:
        waiting = await self._waiting_orders()
        if waiting.get(order_id) == reason:
            return
        await self._state.set_waiting(order_id, reason)
        assert self._waiting is not None
        if reason is None:
            self._waiting.pop(order_id, None)
        else:
            self._waiting[order_id] = reason

    async def get(self, order_id: str) -> ShopOrder | UnreadableOrder | None:
        """The order; ``UnreadableOrder`` when it cannot be mapped; None when Shopify has no such order."""
        data = await self._transport.query(
            queries.ORDER, {"id": order_id, "lines": queries.INLINE_LINES, "foQuery": self._fo_query}
        )
        node = data.get("order")
        return await self._map(node) if node else None

    async def _map(self, node: dict[str, Any]) -> ShopOrder | UnreadableOrder:
        """The order with its lines (read through its fulfillment orders at the FFN location), or
        ``UnreadableOrder`` when it cannot be mapped."""
        fulfillment_orders = await self._fulfillment_orders(node)
        test = bool(node.get("test")) and not self._include_test
        service_location = await self._service_location()
        lines: list[dict[str, Any]] = []
        share: LocationShare | None = None
        try:
            # Inside: a malformed fulfillment order makes this order unreadable, not the whole pull fail.
            lines = fulfillment_order_lines(fulfillment_orders)
            share = location_share(fulfillment_orders, service_location=service_location)
            ensure_every_line_read(fulfillment_orders)
            hold = waiting_reason(share)
            order = map_order(node, lines, share=share, hold=hold, test=test)
        except MAPPING_ERRORS as exc:
            return UnreadableOrder.of(
                str(node.get("id")),
                order_number(str(node.get("name") or "")),
                exc,
                updated_at=_updated_at(node),
                lines=readable_lines(node, lines, share),
            )
        elsewhere = nothing_here(share, self._location_id)
        if elsewhere and not order.cancelled:
            logger.debug(f"shopify order {order.number}: {elsewhere}")
        await self._remember(order.order_id, hold)
        return order

    async def _service_location(self) -> bool:
        """Whether the FFN location belongs to a fulfillment service (then only that app may fulfil there)."""
        if self._is_service_location is None:
            data = await self._transport.query(queries.LOCATION_KIND, {"id": self._location_id})
            location = data.get("location")
            if location is None:
                raise ChannelFatalError(
                    f"the Shopify location {self._location_id} (location_id) does not exist",
                    upstream="shopify",
                )
            self._is_service_location = bool(location.get("isFulfillmentService"))
        return self._is_service_location

    async def _fulfillment_orders(self, node: dict[str, Any]) -> list[dict[str, Any]]:
        """The order's FOs at the FFN location with all their lines: the inline page, or all of them when
        that was cut short, then the lines of each FO that has more, page by page."""
        inline = node.get("fulfillmentOrders") or {}
        nodes: list[dict[str, Any]] = list(inline.get("nodes") or [])
        if bool((inline.get("pageInfo") or {}).get("hasNextPage")) or any(map(_lines_cut, nodes)):
            nodes = await self._all_fulfillment_orders(node["id"])
        return [await self._all_lines(fo) if _lines_cut(fo) else fo for fo in nodes]

    async def _all_fulfillment_orders(self, order_id: str) -> list[dict[str, Any]]:
        nodes: list[dict[str, Any]] = []
        after = None
        while True:
            data = await self._transport.query(
                queries.ORDER_FULFILMENT_ORDERS,
                {
                    "id": order_id,
                    "after": after,
                    "lines": queries.FULFILLMENT_ORDER_LINES,
                    "foQuery": self._fo_query,
                },
            )
            page = (data.get("order") or {}).get("fulfillmentOrders") or {"nodes": [], "pageInfo": {}}
            nodes.extend(page["nodes"])
            if not page["pageInfo"].get("hasNextPage"):
                return nodes
            after = page["pageInfo"].get("endCursor")

    async def _all_lines(self, fo: dict[str, Any]) -> dict[str, Any]:
        return await all_lines(self._transport, fo, queries.FULFILLMENT_ORDER_LINES_PAGE)


async def all_lines(transport: GraphQLTransport, fo: dict[str, Any], op: Operation) -> dict[str, Any]:
    """The FO with every line: the pages after the ones it came with (by the FO line cursor; ``op`` asks
    ``fulfillmentOrder(id:) { lineItems }`` with the fields of the query the FO came from). Should Shopify
    stop answering midway, the FO stays cut: the caller parks the order, never uses it short."""
    lines = dict(fo.get("lineItems") or {})
    nodes = list(lines.get("nodes") or [])
    for _ in range(MAX_FO_LINE_PAGES):
        cursor = (lines.get("pageInfo") or {}).get("endCursor")
        if not (lines.get("pageInfo") or {}).get("hasNextPage") or not cursor:
            break
        data = await transport.query(
            op, {"id": fo["id"], "after": cursor, "lines": queries.FULFILLMENT_ORDER_LINES}
        )
        page = (data.get("fulfillmentOrder") or {}).get("lineItems")
        if not isinstance(page, dict) or not page.get("nodes"):
            break  # gone meanwhile: stays cut
        nodes.extend(page["nodes"])
        lines = page
    return {**fo, "lineItems": {**lines, "nodes": nodes}}


def _lines_cut(fo: dict[str, Any]) -> bool:
    return bool(((fo.get("lineItems") or {}).get("pageInfo") or {}).get("hasNextPage"))


def _updated_at(node: dict[str, Any]) -> datetime | None:
    try:
        return parse_time(node.get("updatedAt"), "updatedAt")
    except MappingError:
        return None
