"""Windows holding many orders (a resync, a first import, an outage, a busy poll window) through one bulk
query instead of pages (``ShopifyChannel`` decides on a poll's first page and a count of the window's orders).

A bulk operation draws nothing from the cost bucket but its start (10 points) and its polls (1 each), so
reading 10,000 orders costs a few dozen points instead of ~500,000 (shopify.dev "Perform bulk operations
with the GraphQL Admin API"). The flow:

1. start ``bulkOperationRunQuery`` (``groupObjects: true``) with the paged read's own order query and window
   filter (``bulk_jsonl.order_query``), or reuse one of ours still running or done for this window
   (``bulk_ops.py``: which operations are ours, how many may run at the pinned version); when no further
   one may start now, a catch-up tries again for a while and a poll's window (``wait_for_others=False``)
   is read page by page at once, so its orders wait for nothing;
2. poll ``bulkOperation(id:)`` with backoff (injected clock) until it is COMPLETED;
3. download ``url`` — a signed storage link: fetched WITHOUT the Admin API token — and put the orders back
   together from the JSONL (``bulk_jsonl.Grouped``), each handed on when the next one starts (streamed:
   one order in memory, not the file);
4. each order goes through the paged read's mapping (an order that cannot be mapped is ``UnreadableOrder``;
   one whose line in the file is broken is ``UnreadableOrder`` with that reason), then the cycle's re-check
   of orders waiting on a hold, as after a paged read.

FAILED, CANCELED, EXPIRED, an operation that does not finish in ``max_wait_s``, a refused download (an expired
link), or a file that cannot be trusted as a whole: the window is read page by page instead (logged). Errors
reaching Shopify or the file at all (``RetryableError``) propagate like a failed page: the window is read
again later, and the operation, ours and running or completed, is reused then.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

import aiohttp
import yarl
from loguru import logger

from adapters.shopify import bulk_jsonl
from adapters.shopify.bulk_ops import BulkBusy, BulkOperations, BulkUnavailable, Finished
from adapters.shopify.mapping import fulfillment_order_lines, order_number, parse_time, readable_lines
from adapters.shopify.read import OrderReader, window_query
from adapters.shopify.transport import GraphQLTransport
from daemon.clock import Clock
from daemon.errors import RecordError, RetryableError
from daemon.model import ShopOrder, Window
from daemon.ports import UnreadableOrder


class BrokenBulkLine(RecordError):
    """The order's line in a bulk result could not be read."""


class BulkOrderReader:
    def __init__(
        self,
        transport: GraphQLTransport,
        reader: OrderReader,
        *,
        fo_query: str,
        clock: Clock,
        session: aiohttp.ClientSession | None = None,
        max_wait_s: float = 1800.0,
        wait_foreign_s: float = 600.0,
    ) -> None:
        self._transport = transport
        self._reader = reader
        self._fo_query = fo_query
        self._clock = clock
        self._session = session
        self._owns_session = session is None
        self.max_wait_s = max_wait_s
        self.operations = BulkOperations(transport, clock, wait_foreign_s=wait_foreign_s)

    async def aclose(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()

    async def changed(
        self,
        window: Window,
        *,
        wait_for_others: bool = True,
        max_wait_s: float | None = None,
        read_before: Mapping[str, datetime] | None = None,
    ) -> AsyncIterator[ShopOrder | UnreadableOrder]:
        """The window's orders through a bulk operation, page by page when that is not possible now.
        ``wait_for_others``: wait (up to ``wait_foreign_s``) for another running bulk query to end; without
        it (a poll's window: its orders must not wait) the window is read page by page at once.
        ``max_wait_s``: how long our own operation may take before the window is read page by page instead
        (default ``self.max_wait_s``; a poll passes about its interval: Shopify may queue an operation).
        ``read_before``: orders the poll's first page handed on already (id → updatedAt), not again."""
        search, start, end = window_query(window)
        before = dict(read_before or {})
        read: set[str] = set(before)
        since = f"{start:%Y-%m-%d %H:%M:%S}"
        try:
            finished = await self.operations.finished(
                bulk_jsonl.order_query(search, self._fo_query),
                wait_for_others=wait_for_others,
                max_wait_s=max_wait_s or self.max_wait_s,
            )
        except BulkUnavailable as exc:
            (logger.info if isinstance(exc, BulkBusy) else logger.warning)(
                f"shopify bulk read of orders changed {since} to {end:%Y-%m-%d %H:%M:%S} "
                f"not possible: {exc}; reading the window page by page"
            )
            async for order in self._reader.changed(window, read_before=before):
                yield order
            return
        try:
            async for node, reason in self._result(finished):
                if reason is not None and "updatedAt" not in node:  # its own line was the broken one
                    read.add(str(node["id"]))
                    yield UnreadableOrder.of(str(node["id"]), None, BrokenBulkLine(reason))
                    continue
                updated = parse_time(node.get("updatedAt"), f"order {node.get('id')} updatedAt")
                if not start <= updated < end or before.get(str(node["id"])) == updated:
                    continue  # the window is ours to enforce, as on the paged read
                read.add(str(node["id"]))
                if reason is not None:
                    yield _unreadable(node, reason, updated)
                else:
                    yield await self._reader._map(node)  # the paged read's own mapping, shared on purpose
        except BulkUnavailable as exc:
            # Orders handed on so far were whole (each group is complete before it is handed on); reading
            # the window again page by page writes nothing for those that did not change.
            logger.error(f"{exc}; reading orders changed since {since} page by page")
            async for order in self._reader.changed(window, read_before=before):
                yield order
            return
        bulk_read = len(read - before.keys())
        (logger.info if bulk_read else logger.debug)(
            f"shopify bulk operation {finished.id}: {bulk_read} order(s) changed since "
            f"{since}{' (reused)' if finished.reused else ''}"
        )
        covered_end = parse_time(finished.covers_until, "bulk query window end")
        if covered_end < end:  # a reused operation of ours that ended earlier: the rest page by page
            async for order in self._reader.changed(Window(covered_end, end), read_before=before):
                read.add(order.order_id)
                yield order
            return  # the paged read ran the waiting-order re-check already
        async for released in self._reader._released(read):
            yield released

    # the result -----------------------------------------------------------------------------------------------

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_read=120))
            self._owns_session = True
        return self._session

    async def _result(self, finished: Finished) -> AsyncIterator[tuple[dict[str, Any], str | None]]:
        """The file's orders, each as soon as its group is complete, with the reason it cannot be read from
        the file or None: one order's lines in memory at a time, not the file."""
        if finished.url is None:
            return
        grouped = bulk_jsonl.Grouped()
        number = 0
        try:
            # A signed storage link: no Admin API token (no headers of ours at all) goes there.
            async with self._http().get(finished.url) as response:
                if response.status != 200:
                    snippet = (await response.read())[:200].decode("utf-8", "replace")
                    raise BulkUnavailable(
                        f"the result of bulk operation {finished.id} answered HTTP {response.status}: {snippet}"
                    )
                async for raw in response.content:
                    number += 1
                    if raw.strip():
                        for done in grouped.feed(raw, number):
                            yield self._checked(finished, done)
            for done in grouped.finish():
                yield self._checked(finished, done)
        except (aiohttp.ClientError, TimeoutError) as exc:
            # The operation stays ours and completed: the next try of this window downloads it again.
            # Not ``exc`` itself: aiohttp's errors quote the signed link, which opens the merchant's order
            # export (customers' personal data) to anyone holding it for days.
            raise RetryableError(
                f"the result of bulk operation {finished.id} could not be downloaded from "
                f"{yarl.URL(finished.url).host}: {type(exc).__name__}",
                upstream="shopify",
            ) from None
        except ValueError as exc:
            # A line longer than the reader's limit, or a file that cannot be trusted as a whole.
            raise BulkUnavailable(f"the result of bulk operation {finished.id} is unusable: {exc}") from exc

    @staticmethod
    def _checked(
        finished: Finished, done: tuple[dict[str, Any], str | None]
    ) -> tuple[dict[str, Any], str | None]:
        node, reason = done
        if reason is None:
            return done
        logger.error(f"shopify order {node['id']}: {reason} (bulk operation {finished.id}); parked")
        return node, f"{reason} (bulk operation {finished.id})"


def _unreadable(node: dict[str, Any], reason: str, updated: datetime) -> UnreadableOrder:
    """An order with a broken line in the file: parked, what can be read of its lines (those its fulfillment
    orders' lines carry) stays reserved, in full: the broken line may be a fulfillment order's, which would
    tell how much FFN ships."""
    return UnreadableOrder.of(
        str(node["id"]),
        order_number(str(node.get("name") or "")),
        BrokenBulkLine(reason),
        updated_at=updated,
        lines=readable_lines(
            node, fulfillment_order_lines((node.get("fulfillmentOrders") or {}).get("nodes") or [])
        ),
    )
