"""``ShopifyChannel``: the ``ShopChannel`` contract over the Admin GraphQL API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime

import aiohttp
from loguru import logger

from adapters.shopify import queries
from adapters.shopify.bulk import BulkOrderReader
from adapters.shopify.gate import location_query
from adapters.shopify.mapping import map_variant, variant_skip_reason
from adapters.shopify.read import OrderReader, page_budget, sized_query, window_query
from adapters.shopify.state import MemoryState, ShopifyState
from adapters.shopify.stock import InventoryItems, StockWriter
from adapters.shopify.transport import DEFAULT_API_VERSION, GraphQLTransport
from adapters.shopify.writeback import OrderStatusWriter, ShipmentWriter
from daemon.clock import SYSTEM_CLOCK, Clock
from daemon.errors import ChannelFatalError
from daemon.model import FulfillerStatus, OrderRef, Shipment, ShopOrder, ShopProduct, ShopStock, Window
from daemon.ports import MAPPING_ERRORS, ItemResult, UnreadableOrder, unreadable_reason
from daemon.secrets import Secret

MAX_PAGE_SIZE = 250
TRIGGERED_SHARE = 0.5  # of the restore rate, for webhook-triggered reads while the bucket is below half
# After a webhook-triggered read missed an order announced by orders/create, look again this much later
# (the search index's lag is undocumented: api-notes shopify.md; a longer one is covered by the next poll).
SEARCH_RECHECK_S = 2.0
# A window holding at least this many orders is read with one bulk operation (a few points in all) instead
# of pages (~18 points per order, ~0.2 s of a standard plan's budget each); fewer are read page by page,
# sooner than a bulk operation's start, polls and download take.
BULK_READ_MIN_ORDERS = 50

# A poll's first page (its request also counts the window): small, so that a burst's bulk read leaves few
# of its orders to the paged price (~18 points each); a window of a few orders is still one request.
POLL_FIRST_PAGE = 10

# A poll's bulk read waits about one polling interval for its operation (Shopify may queue it); then the
# window is read page by page and the operation is left to a later run (reused while its window fits).
POLL_BULK_WAIT_S = 60.0


class ShopifyChannel:
    kind = "shopify"
    # Stock writes compare-and-swap on changeFromQuantity: a sale since our last look is refused, not
    # overwritten, and reported TRANSIENT for the engine to re-read orders, recompute and write again.
    stock_cas = True

    def __init__(
        self,
        base_url: str,
        *,
        access_token: Secret,
        api_version: str = DEFAULT_API_VERSION,
        location_id: str,
        state: ShopifyState | None = None,
        include_test_orders: bool = False,
        page_size: int = 100,
        notify_customer: bool = True,
        clock: Clock = SYSTEM_CLOCK,
        session: aiohttp.ClientSession | None = None,
        status_tag: str = "ffn-cancelled",
        partial_status_tag: str = "ffn-partially-cancelled",
        max_concurrency: int = 4,
        bulk_read_min_orders: int = BULK_READ_MIN_ORDERS,
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}")
        if not location_id.startswith("gid://shopify/Location/"):
            raise ValueError(
                f"location_id must be a gid like gid://shopify/Location/123, got {location_id!r}"
            )
        if bulk_read_min_orders < 1:
            raise ValueError(f"bulk_read_min_orders must be at least 1, got {bulk_read_min_orders}")
        self.location_id = location_id
        self.page_size = page_size
        self.bulk_read_min_orders = bulk_read_min_orders
        self.notify_customer = notify_customer
        self.transport = GraphQLTransport(
            base_url,
            access_token=access_token,
            api_version=api_version,
            clock=clock,
            session=session,
            max_concurrency=max_concurrency,
        )
        self.state: ShopifyState = state if state is not None else MemoryState()
        self._fo_scope_checked = False
        self._spent_seen = 0.0
        self._orders = OrderReader(
            self.transport,
            page_size,
            location_id=location_id,
            state=self.state,
            include_test_orders=include_test_orders,
        )
        self._bulk = BulkOrderReader(
            self.transport, self._orders, fo_query=location_query(location_id), clock=clock, session=session
        )
        self._items = InventoryItems(self.transport)
        self._stock = StockWriter(self.transport, self._items, location_id, self.state)
        self._shipments = ShipmentWriter(self.transport, location_id, notify_customer=notify_customer)
        self._status = OrderStatusWriter(
            self.transport,
            clock=clock,
            status_tag=status_tag,
            partial_status_tag=partial_status_tag,
            notify_customer=notify_customer,
        )

    def __repr__(self) -> str:
        return f"ShopifyChannel(location_id={self.location_id!r})"

    async def aclose(self) -> None:
        await self._bulk.aclose()
        await self.transport.aclose()

    # pulls --------------------------------------------------------------------------------------------

    async def changed_orders(self, window: Window) -> AsyncIterator[ShopOrder | UnreadableOrder]:
        await self._fulfilment_orders_visible()
        async for order in self._orders.changed(window):
            yield order

    async def changed_orders_by_size(self, window: Window) -> AsyncIterator[ShopOrder | UnreadableOrder]:
        """``SizedReads`` (the orders flow's poll): page by page, and when the window holds
        ``bulk_read_min_orders`` or more (after a burst: counted in the first page's request, 1 point), the
        rest after a small first page through a bulk operation, without waiting for another running bulk
        query (then page by page). An empty or quiet poll is one request."""
        await self._fulfilment_orders_visible()
        async for order in self._orders.changed(window, rest=_BulkRest(self)):
            yield order

    async def changed_orders_bulk(self, window: Window) -> AsyncIterator[ShopOrder | UnreadableOrder]:
        """``CatchUpReads``: a long window (first import, resync, outage) through one bulk operation
        (``adapters/shopify/bulk.py``), the same records as ``changed_orders`` at a few points instead of ~18
        per order — when it holds ``bulk_read_min_orders`` or more; fewer are read page by page (a new
        fleet's first start must not run a bulk operation per shop for a handful of orders)."""
        await self._fulfilment_orders_visible()
        if await self._many_orders(window):
            orders = self._bulk.changed(window, wait_for_others=True)
        else:
            orders = self._orders.changed(window)
        async for order in orders:
            yield order

    async def _many_orders(self, window: Window) -> bool:
        """Whether the window holds at least ``bulk_read_min_orders`` orders: Shopify's count (1 point),
        counting no further than that."""
        text, _, _ = window_query(window)
        data = await self.transport.query(
            queries.ORDERS_COUNT, {"q": text, "limit": self.bulk_read_min_orders}
        )
        count = (data.get("ordersCount") or {}).get("count")
        return isinstance(count, int) and count >= self.bulk_read_min_orders

    async def order_versions(self, window: Window) -> AsyncIterator[tuple[str, datetime]]:
        """``daemon.ports.OrderVersions``: what the reconcile compares before reading anything in full."""
        async for version in self._orders.versions(window):
            yield version

    async def get_order(self, order_id: str) -> ShopOrder | UnreadableOrder | None:
        await self._fulfilment_orders_visible()
        return await self._orders.get(order_id)

    async def _fulfilment_orders_visible(self) -> None:
        """Once per process: without a fulfillment-order scope Shopify answers every order with no
        fulfillment orders (not an error), which would read as "nothing for FFN" and skip every order."""
        if self._fo_scope_checked:
            return
        problems = [p for p in await self.verify_access() if p.startswith(FO_SCOPE_MISSING)]
        if problems:
            raise ChannelFatalError(
                f"the Shopify app cannot see fulfillment orders ({'; '.join(problems)}); grant the scope, "
                "then orders are read again",
                upstream="shopify",
            )
        self._fo_scope_checked = True

    async def changed_products(self, window: Window) -> AsyncIterator[ShopProduct]:
        text, _, _ = window_query(window)
        after: str | None = None
        while True:
            data = await sized_query(
                self.transport,
                queries.CHANGED_VARIANTS,
                {"after": after, "q": text},
                self._variants_per_page,
                queries.variants_page_cost,
            )
            currency = (data.get("shop") or {}).get("currencyCode")
            page = data["productVariants"]
            for node in page["nodes"]:
                reason = variant_skip_reason(node)
                if reason is not None:
                    logger.info(f"shopify variant {node.get('id')} sku={node.get('sku')!r} skipped: {reason}")
                    continue
                try:
                    product = map_variant(node, currency)
                except MAPPING_ERRORS as exc:
                    logger.error(
                        f"shopify variant {node.get('id')} sku={node.get('sku')!r} left out: "
                        f"{unreadable_reason(exc)}"
                    )
                    continue
                if product.stock_ref:
                    self._items.remember(product.sku, product.stock_ref)
                yield product
            if not page["pageInfo"]["hasNextPage"]:
                return
            after = page["pageInfo"]["endCursor"]

    def _variants_per_page(self) -> int:
        return max(1, min(self.page_size, (page_budget(self.transport) - 3) // queries.VARIANT_NODE_COST))

    def read_gap_s(self) -> float:
        """Pacing of webhook-triggered reads (``daemon.engine.nudges.ReadPacing``): while the cost bucket is
        at least half full they may follow each other at the minimum gap; below that, what this channel
        spent since the last call must be restored at half the restore rate first, leaving the other half
        of the budget to the polls, the reconcile and the write-backs."""
        spent, self._spent_seen = self.transport.spent - self._spent_seen, self.transport.spent
        bucket = self.transport.bucket
        if bucket.maximum is None or not bucket.restore_rate or bucket.available() >= bucket.maximum / 2:
            return 0.0
        return spent / (TRIGGERED_SHARE * bucket.restore_rate)

    def search_recheck_s(self) -> float:
        """``daemon.engine.nudges.SearchLag``: the orders delta read is an ``orders(query:)`` search, which
        runs against Shopify's search index; a just-created order may be missing from it for a moment."""
        return SEARCH_RECHECK_S

    # writes -------------------------------------------------------------------------------------------

    async def apply_shipment(self, order: OrderRef, shipment: Shipment) -> None:
        await self._shipments.apply(order, shipment)

    async def apply_order_status(
        self, order: OrderRef, status: FulfillerStatus, *, cancel_in_shop: bool
    ) -> None:
        await self._status.apply(order, status, cancel_in_shop=cancel_in_shop)

    async def set_stock(self, levels: Sequence[ShopStock]) -> list[ItemResult]:
        return await self._stock.set_stock(levels)

    # set-up checks --------------------------------------------------------------------------------------

    async def verify_access(self) -> list[str]:
        """What the app installation lacks (``ffn-sync check``): missing scopes, one line each; a line
        starting with ``warning:`` is a limitation, not a failure."""
        data = await self.transport.query(queries.APP_SCOPES)
        granted = {
            str(s.get("handle"))
            for s in ((data.get("currentAppInstallation") or {}).get("accessScopes") or [])
        }
        return missing_scopes(granted)


class _BulkRest:
    """A poll's read (``RestReader``): its first page is small and its request counts the window's orders;
    when the page comes back full and the window holds ``bulk_read_min_orders`` or more (a burst), the
    rest is read through one bulk operation."""

    first_page = POLL_FIRST_PAGE

    def __init__(self, channel: ShopifyChannel) -> None:
        self._channel = channel
        self.count_limit = channel.bulk_read_min_orders

    async def take(
        self, rest: Window, count: int | None, read: Mapping[str, datetime]
    ) -> AsyncIterator[ShopOrder | UnreadableOrder] | None:
        if count is None or count < self.count_limit:
            return None
        return self._channel._bulk.changed(
            rest, wait_for_others=False, max_wait_s=POLL_BULK_WAIT_S, read_before=read
        )


def missing_scopes(granted: set[str]) -> list[str]:
    # A write scope includes its read scope.
    have = granted | {"read_" + s.removeprefix("write_") for s in granted if s.startswith("write_")}
    problems = [
        f"missing scope {scope}: needed to {why}" for scope, why in REQUIRED_SCOPES if scope not in have
    ]
    fo_read = any(s in have for s in FULFILMENT_ORDER_SCOPES)
    if not fo_read:
        problems.append(
            f"{FO_SCOPE_MISSING} (or read_assigned_fulfillment_orders): "
            "without it Shopify shows no fulfillment orders, so nothing is exported or fulfilled"
        )
    if "read_all_orders" not in have:
        problems.append(
            "warning: missing scope read_all_orders: orders older than 60 days are invisible, so a late "
            "shipment cannot be written back"
        )
    return problems


REQUIRED_SCOPES = (
    ("read_orders", "read orders"),
    ("write_orders", "tag, annotate and cancel orders"),
    ("read_products", "read products and variants"),
    ("write_inventory", "write stock levels"),
    ("read_locations", "check the FFN location"),
    ("write_fulfillments", "record shipments"),
    ("write_merchant_managed_fulfillment_orders", "fulfil the orders of the FFN location"),
)
FO_SCOPE_MISSING = "missing scope read_merchant_managed_fulfillment_orders"
FULFILMENT_ORDER_SCOPES = ("read_merchant_managed_fulfillment_orders", "read_assigned_fulfillment_orders")
