"""Bulk order reads against the sandbox: the same records as the paged read, at a few cost points, and every
way a bulk operation can let the client down (failed, expired, somebody else's, a broken line)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import aiohttp
import graphql
import orjson
import pytest
import yarl
from loguru import logger

from adapters.shopify import bulk_jsonl
from adapters.shopify.channel import POLL_BULK_WAIT_S
from adapters.shopify.read import window_query
from daemon.errors import RetryableError
from daemon.model import ShopOrder, Window
from daemon.ports import UnreadableOrder
from sandboxes.shopify.endpoint import load_schema
from tests.adapters.shopify.conftest import START, Shop
from tests.adapters.shopify.real_schema import full_schema

WINDOW = Window(START - timedelta(days=1), START + timedelta(days=1))
FO_QUERY = "assigned_location_id:1000001"
RUN = "mutation R($q: String!) { bulkOperationRunQuery(query: $q) { userErrors { message } } }"
RUN_OURS = (  # as the adapter starts its own
    "mutation R($q: String!) { bulkOperationRunQuery(query: $q, groupObjects: true) { userErrors { message } } }"
)


async def _world(shop: Shop) -> list[str]:
    """Orders of every shape the mapping knows: many lines, a hold, another location, a test order."""
    for i in range(14):
        await shop.product(f"S-{i:02d}")
    elsewhere = (await shop.control("POST", "/_sandbox/locations", {"name": "Shop floor"}))["id"]
    ids = []
    for n in range(6):
        shop.clock.advance(5)
        ids.append((await shop.order([{"sku": f"S-{n:02d}", "qty": n + 1}]))["id"])
    ids.append(
        (await shop.order([{"sku": f"S-{i:02d}", "qty": 1} for i in range(14)]))["id"]
    )  # > inline lines
    ids.append((await shop.order([{"sku": "S-01", "qty": 1}], hold="HIGH_RISK_OF_FRAUD"))["id"])
    ids.append((await shop.order([{"sku": "S-02", "qty": 1, "location": elsewhere}]))["id"])
    ids.append((await shop.order([{"sku": "S-03", "qty": 2}], test=True))["id"])
    return ids


async def _read(
    shop: Shop, bulk: bool, *, poll: bool = False, **kw: Any
) -> list[ShopOrder | UnreadableOrder]:
    """``bulk``: as a catch-up; ``poll``: as the orders flow's poll; else the plain paged read."""
    channel = _channel(shop, **kw)
    try:
        if bulk:
            reads = channel.changed_orders_bulk(WINDOW)
        else:
            reads = channel.changed_orders_by_size(WINDOW) if poll else channel.changed_orders(WINDOW)
        return [order async for order in reads]
    finally:
        await channel.aclose()


def _channel(shop: Shop, **kw: Any) -> Any:
    """A channel that reads through a bulk operation from one order on (the small worlds here)."""
    return shop.channel(**{"bulk_read_min_orders": 1, **kw})


def _by_id(orders: list[ShopOrder | UnreadableOrder]) -> dict[str, ShopOrder | UnreadableOrder]:
    found = {o.order_id: o for o in orders}
    assert len(found) == len(orders), "an order came twice"
    return found


@contextmanager
def _warnings() -> Iterator[list[str]]:
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="WARNING")
    try:
        yield lines
    finally:
        logger.remove(sink)


def _search() -> str:
    return window_query(WINDOW)[0]


@pytest.mark.parametrize("version", ["2026-01", "2026-04"])
def test_the_bulk_order_query_is_valid_for_shopify_and_the_sandbox(version: str) -> None:
    text = bulk_jsonl.order_query(_search(), FO_QUERY)
    document = graphql.parse(text)
    assert graphql.validate(full_schema(version), document) == []
    assert graphql.validate(load_schema(version), document) == []
    assert bulk_jsonl.query_window(text) == ("2026-11-22T10:00:00Z", "2026-11-24T10:00:00Z")
    assert bulk_jsonl.query_window("query Other { orders { edges { node { id } } } }") is None


async def test_a_bulk_read_gives_the_records_of_the_paged_read(shop: Shop) -> None:
    ids = await _world(shop)
    paged = _by_id(await _read(shop, bulk=False))
    shop.sandbox.bucket.reset()
    before = len(shop.graphql_log())
    bulk = _by_id(await _read(shop, bulk=True))
    assert sorted(bulk) == sorted(paged) == sorted(ids)
    assert bulk == paged  # field by field, lines, holds, test flag and location share included
    requests = [e.request_json()["query"] for e in shop.graphql_log()[before:]]
    assert not any("ChangedOrders" in q or "OrderLines" in q for q in requests)  # nothing paged
    [op] = shop.sandbox.bulk.operations.values()
    assert op.downloads == 1  # without the Admin token (the sandbox refuses it), else no orders at all


async def test_a_broken_line_parks_its_order_and_the_rest_are_read(shop: Shop) -> None:
    ids = await _world(shop)
    await shop.control("PUT", "/_sandbox/bulk", {"delay_s": 2})
    channel = _channel(shop)
    try:
        reads = channel.changed_orders_bulk(WINDOW)
        # Corrupt the third order's shipping line once the operation exists (before the client downloads it).
        broken_at: list[int] = []
        rest = [o async for o in _after_start(shop, reads, ids[2], broken_at)]
    finally:
        await channel.aclose()
    found = _by_id(rest)
    assert sorted(found) == sorted(ids)
    broken = found[ids[2]]
    assert isinstance(broken, UnreadableOrder)
    assert len(broken_at) == 1
    assert f"line {broken_at[0]} of the bulk result is not a JSON object" in broken.reason
    assert [(line.sku, line.quantity) for line in broken.lines] == [("S-02", 3)]  # still reserved
    assert "bulk operation gid://shopify/BulkOperation/1" in broken.reason
    assert all(isinstance(found[i], ShopOrder) for i in ids if i != ids[2])


async def _after_start(shop: Shop, reads: Any, order_id: str, broken_at: list[int]) -> Any:
    """Let the client start its operation, break one line of it, then hand on what the client reads."""
    original_sleep = shop.clock.sleep

    async def sleep(seconds: float) -> None:
        for op in shop.sandbox.bulk.operations.values():
            for index, line in enumerate(op.lines):
                if b'"ShippingLine"' in line and orjson.loads(line)["__parentId"] == order_id:
                    # The order's shipping line, cut short of a value; its parent is still named.
                    op.lines[index] = line.replace(b'"title":', b'"title":,')
                    op.body = b"".join(x + b"\n" for x in op.lines)
                    broken_at.append(index + 1)
        shop.clock.sleep = original_sleep  # type: ignore[method-assign]
        await original_sleep(seconds)

    shop.clock.sleep = sleep  # type: ignore[method-assign]
    async for order in reads:
        yield order


@pytest.mark.parametrize(
    ("knobs", "why"),
    [
        ({"fail": "INTERNAL_SERVER_ERROR"}, "ended FAILED (INTERNAL_SERVER_ERROR)"),
        ({"fail": "ACCESS_DENIED"}, "ended FAILED (ACCESS_DENIED)"),
        ({"url_ttl_s": 0}, "ended EXPIRED"),
    ],
)
async def test_a_bulk_operation_that_fails_or_expires_falls_back_to_pages(
    shop: Shop, knobs: dict[str, Any], why: str
) -> None:
    ids = await _world(shop)
    await shop.control("PUT", "/_sandbox/bulk", knobs)
    with _warnings() as lines:
        found = _by_id(await _read(shop, bulk=True))
    assert sorted(found) == sorted(ids)
    assert any(why in line and "page by page" in line for line in lines)


async def test_our_own_running_operation_is_reused_after_a_restart(shop: Shop) -> None:
    ids = await _world(shop)
    await shop.control("PUT", "/_sandbox/bulk", {"delay_s": 30})
    text = bulk_jsonl.order_query(_search(), FO_QUERY)
    assert (await shop.graphql(RUN_OURS, {"q": text}))[1]["data"]["bulkOperationRunQuery"]["userErrors"] == []
    found = _by_id(await _read(shop, bulk=True))
    assert sorted(found) == sorted(ids)
    assert len(shop.sandbox.bulk.operations) == 1  # waited for it instead of starting another
    assert shop.clock.slept and sum(shop.clock.slept) >= 30  # polled with backoff on the injected clock
    assert shop.clock.slept == sorted(shop.clock.slept)


@pytest.mark.parametrize(("ended_before_s", "operations"), [(1800, 1), (2 * 3600, 2)])
async def test_an_operation_of_ours_that_ended_earlier_is_reused_only_when_recent(
    shop: Shop, ended_before_s: float, operations: int
) -> None:
    ids = await _world(shop)  # orders from START + 5 s on
    window = Window(WINDOW.start, shop.clock.now() + timedelta(seconds=ended_before_s - 20))
    earlier = Window(window.start, START + timedelta(seconds=12))  # the first two orders only
    await shop.graphql(RUN_OURS, {"q": bulk_jsonl.order_query(window_query(earlier)[0], FO_QUERY)})
    shop.clock.advance(ended_before_s)
    channel = _channel(shop)
    try:
        found = _by_id([o async for o in channel.changed_orders_bulk(window)])
    finally:
        await channel.aclose()
    assert sorted(found) == sorted(ids)  # the rest read page by page after the reused operation
    assert len(shop.sandbox.bulk.operations) == operations


OLD_VERSION = "2025-10"  # pinned by an operator: one bulk query per app and shop at a time


async def _theirs_running(shop: Shop, count: int = 1) -> list[str]:
    """Bulk queries an operator started with the same app (another query than ours), running for an hour."""
    await shop.control("PUT", "/_sandbox/bulk", {"delay_s": 3600})
    started = []
    for _ in range(count):
        _, answer = await shop.graphql(RUN_THEIRS, {"q": "{ orders { edges { node { id } } } }"})
        started.append(answer["data"]["bulkOperationRunQuery"]["bulkOperation"]["id"])
    await shop.control("PUT", "/_sandbox/bulk", {"delay_s": 1})
    return started


RUN_THEIRS = "mutation R($q: String!) { bulkOperationRunQuery(query: $q) { bulkOperation { id } userErrors { message } } }"


async def test_at_the_pinned_version_ours_runs_next_to_somebody_elses(shop: Shop) -> None:
    # From 2026-01 five bulk queries may run at once: an operator's running one holds nothing back, and it
    # is neither waited for, adopted nor cancelled.
    ids = await _world(shop)
    [theirs] = await _theirs_running(shop)
    with _warnings() as lines:
        found = _by_id(await _read(shop, bulk=True))
    assert sorted(found) == sorted(ids)
    assert len(shop.sandbox.bulk.operations) == 2
    operator = shop.sandbox.bulk.operations[1]
    assert operator.id == theirs and operator.status(shop.clock.now()) in ("CREATED", "RUNNING")
    assert operator.canceled_at is None and operator.downloads == 0
    assert sum(shop.clock.slept) < 30  # waited for ours only
    assert lines == []
    queries = [e.request_json()["query"] for e in shop.graphql_log()]
    assert not any("currentBulkOperation" in q or "bulkOperationCancel" in q for q in queries)


async def test_after_a_restart_ours_is_found_among_the_apps_operations_not_as_the_newest(shop: Shop) -> None:
    # Ours runs long; an operator starts one after it (now the newest: currentBulkOperation would name
    # theirs). A new process finds ours by its query among the app's operations and reuses it.
    ids = await _world(shop)
    await shop.control("PUT", "/_sandbox/bulk", {"delay_s": 20})
    first = _channel(shop)
    try:
        with pytest.raises(RetryableError):
            async for _ in first.changed_orders_bulk(WINDOW):
                raise RetryableError("the process stops while its operation runs", upstream="shopify")
        await _theirs_running(shop)
    finally:
        await first.aclose()
    restarted = _channel(shop)
    try:
        found = _by_id([o async for o in restarted.changed_orders_bulk(WINDOW)])
    finally:
        await restarted.aclose()
    assert sorted(found) == sorted(ids)
    assert len(shop.sandbox.bulk.operations) == 2  # ours reused, theirs left alone
    assert [op.downloads for op in shop.sandbox.bulk.operations.values()] == [2, 0]


async def test_with_five_running_a_poll_reads_pages_at_once_and_a_catch_up_tries_again(shop: Shop) -> None:
    ids = await _world(shop)
    await _theirs_running(shop, 5)
    with _warnings() as lines:
        polled = _by_id(await _read(shop, bulk=False, poll=True))
    assert sorted(polled) == sorted(ids)
    assert shop.clock.slept == []  # not a second of waiting
    assert len(shop.sandbox.bulk.operations) == 5
    assert not any("LIMIT_REACHED" in line for line in lines)  # INFO: normal on a busy shop
    channel = _channel(shop)
    try:
        caught_up = _by_id([o async for o in channel.changed_orders_bulk(WINDOW)])
    finally:
        await channel.aclose()
    assert sorted(caught_up) == sorted(ids)  # after trying for wait_foreign_s, page by page
    assert 600 <= sum(shop.clock.slept) < 600 + 31
    assert len(shop.sandbox.bulk.operations) == 5


@pytest.mark.parametrize("limit", [1, 5])
async def test_a_catch_up_starts_once_a_place_is_free(shop: Shop, limit: int) -> None:
    ids = await _world(shop)
    await shop.control("PUT", "/_sandbox/bulk", {"max_running": limit, "delay_s": 20})
    for _ in range(limit):
        await shop.graphql(RUN_THEIRS, {"q": "{ orders { edges { node { id } } } }"})
    found = _by_id(await _read(shop, bulk=True))
    assert sorted(found) == sorted(ids)
    assert len(shop.sandbox.bulk.operations) == limit + 1  # ours ran once one of theirs had finished


async def test_pinned_before_2026_01_somebody_elses_operation_is_waited_for_then_ours_runs(
    shop: Shop,
) -> None:
    ids = await _world(shop)
    await shop.control("PUT", "/_sandbox/bulk", {"delay_s": 20, "max_running": 1})
    await shop.graphql(RUN, {"q": "{ orders { edges { node { id } } } }"})
    with _warnings() as lines:
        found = _by_id(await _read(shop, bulk=True, api_version=OLD_VERSION))
    assert sorted(found) == sorted(ids)
    assert len(shop.sandbox.bulk.operations) == 2
    assert not any("bulkOperations" in e.request_json()["query"] for e in shop.graphql_log())
    assert all("instead of the configured 2025-10" in line for line in lines)  # the sandbox falls forward


async def test_pinned_before_2026_01_somebody_elses_operation_that_runs_too_long_means_pages(
    shop: Shop,
) -> None:
    ids = await _world(shop)
    await shop.control("PUT", "/_sandbox/bulk", {"delay_s": 3600, "max_running": 1})
    await shop.graphql(RUN, {"q": "{ orders { edges { node { id } } } }"})
    with _warnings() as lines:
        found = _by_id(await _read(shop, bulk=True, api_version=OLD_VERSION))
    assert sorted(found) == sorted(ids)
    assert len(shop.sandbox.bulk.operations) == 1
    assert any("of another client still runs" in line for line in lines)


async def test_an_empty_catch_up_starts_no_bulk_operation_and_logs_nothing(shop: Shop) -> None:
    # A new fleet's first start: every orders job catches up a long window, mostly holding nothing.
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="INFO")
    try:
        assert await _read(shop, bulk=True) == []
    finally:
        logger.remove(sink)
    assert shop.sandbox.bulk.operations == {}
    assert lines == []
    queries = [e.request_json()["query"] for e in shop.graphql_log()]
    assert any("ordersCount" in q for q in queries)


async def test_an_operation_canceled_while_we_wait_means_pages(shop: Shop) -> None:
    ids = await _world(shop)
    await shop.control("PUT", "/_sandbox/bulk", {"delay_s": 10})
    original_sleep = shop.clock.sleep

    async def cancel_then_sleep(seconds: float) -> None:
        for op in shop.sandbox.bulk.operations.values():
            if op.canceled_at is None:  # somebody cancels it in the shop (another app, a staff script)
                cancel = "mutation C($id: ID!) { bulkOperationCancel(id: $id) { userErrors { message } } }"
                await shop.graphql(cancel, {"id": op.id})
        await original_sleep(seconds)

    shop.clock.sleep = cancel_then_sleep  # type: ignore[method-assign]
    with _warnings() as lines:
        found = _by_id(await _read(shop, bulk=True))
    assert sorted(found) == sorted(ids)
    assert any("ended CANCELED" in line and "page by page" in line for line in lines)


class _Unreachable:
    closed = False

    def get(self, url: str) -> Any:
        raise aiohttp.ClientConnectionError(f"cannot connect to {url.split('?')[0]}")


async def test_a_download_that_cannot_connect_is_retried_later_with_the_same_operation(shop: Shop) -> None:
    ids = await _world(shop)
    channel = _channel(shop)
    try:
        channel._bulk._session = _Unreachable()  # type: ignore[assignment]
        with pytest.raises(RetryableError, match="could not be downloaded"):
            [o async for o in channel.changed_orders_bulk(WINDOW)]
        channel._bulk._session, channel._bulk._owns_session = None, True
        found = _by_id([o async for o in channel.changed_orders_bulk(WINDOW)])
    finally:
        await channel.aclose()
    assert sorted(found) == sorted(ids)
    [op] = shop.sandbox.bulk.operations.values()  # the completed one, downloaded on the second try
    assert op.downloads == 1


async def test_an_ungrouped_operation_of_an_earlier_release_is_not_read_as_grouped(shop: Shop) -> None:
    # Before streaming, ffn-sync ran its catch-up as FfnSyncOrderCatchUp without groupObjects: children
    # anywhere in the file. Still running after an upgrade, it is another client's operation: waited for,
    # never read order by order (that would hand on orders without their lines).
    ids = await _world(shop)
    await shop.control("PUT", "/_sandbox/bulk", {"delay_s": 20})
    old = bulk_jsonl.order_query(_search(), FO_QUERY).replace(
        bulk_jsonl.OPERATION_NAME, "FfnSyncOrderCatchUp"
    )
    assert (await shop.graphql(RUN, {"q": old}))[1]["data"]["bulkOperationRunQuery"]["userErrors"] == []
    found = _by_id(await _read(shop, bulk=True))
    assert sorted(found) == sorted(ids)
    assert all(isinstance(o, ShopOrder) and o.lines for o in found.values() if o.order_id != ids[8])
    assert len(shop.sandbox.bulk.operations) == 2


async def test_a_poll_window_does_not_wait_for_a_running_bulk_operation(shop: Shop) -> None:
    # Where Shopify runs one bulk query per app and shop (the 2026-01 schema's text, the stricter reading):
    # while another one runs (a catch-up's, an operator's script), a poll window holding many orders is
    # read page by page at once.
    ids = await _world(shop)
    await shop.control("PUT", "/_sandbox/bulk", {"delay_s": 3600, "max_running": 1})
    await shop.graphql(RUN, {"q": "{ orders { edges { node { id } } } }"})
    found = _by_id(await _read(shop, bulk=False, poll=True))
    assert sorted(found) == sorted(ids)
    assert len(shop.sandbox.bulk.operations) == 1
    assert shop.clock.slept == []  # not a second of waiting


async def test_a_poll_waits_about_an_interval_for_its_own_operation_then_reads_pages(shop: Shop) -> None:
    # Shopify may queue an operation for minutes: a poll's orders must not wait for it that long.
    ids = await _world(shop)
    await shop.control("PUT", "/_sandbox/bulk", {"delay_s": 3600})
    with _warnings() as lines:
        found = _by_id(await _read(shop, bulk=False, poll=True, bulk_read_min_orders=10, page_size=3))
    assert sorted(found) == sorted(ids)
    assert len(shop.sandbox.bulk.operations) == 1  # ours, left running for a later run
    assert POLL_BULK_WAIT_S <= sum(shop.clock.slept) < POLL_BULK_WAIT_S + 31
    assert any("still runs after 60 s" in line and "page by page" in line for line in lines)


async def test_a_failed_download_does_not_quote_the_signed_link(shop: Shop) -> None:
    await _world(shop)
    channel = _channel(shop)

    class _Redirecting:
        closed = False

        def get(self, url: str) -> Any:
            raise aiohttp.TooManyRedirects(aiohttp.RequestInfo(yarl.URL(url), "GET", {}, yarl.URL(url)), ())  # type: ignore[arg-type]

    try:
        channel._bulk._session = _Redirecting()  # type: ignore[assignment]
        with pytest.raises(RetryableError) as caught:
            [o async for o in channel.changed_orders_bulk(WINDOW)]
        channel._bulk._session, channel._bulk._owns_session = None, True
    finally:
        await channel.aclose()
    assert "TooManyRedirects" in str(caught.value)
    assert "?" not in str(caught.value) and "signature" not in str(caught.value).lower()


@pytest.mark.parametrize(("min_orders", "bulk"), [(10, True), (11, False)])
async def test_a_poll_window_is_read_in_bulk_from_the_threshold_on_and_page_by_page_below(
    shop: Shop, min_orders: int, bulk: bool
) -> None:
    # The poll's first page (3 orders here) comes with the window's count: the rest of a window holding
    # the threshold or more goes through one bulk operation, without a request of its own to decide.
    ids = await _world(shop)  # 10 orders
    before = len(shop.graphql_log())
    found = _by_id(await _read(shop, bulk=False, poll=True, bulk_read_min_orders=min_orders, page_size=3))
    assert sorted(found) == sorted(ids)
    queries = [e.request_json()["query"] for e in shop.graphql_log()[before:]]
    orders = [q for q in queries if "query PollOrders" in q or "query ChangedOrders" in q]
    assert "query PollOrders" in orders[0] and not any("query OrdersCount" in q for q in queries)
    assert len(orders) == (1 if bulk else 4)
    assert len(shop.sandbox.bulk.operations) == (1 if bulk else 0)


async def test_an_empty_poll_is_one_request(shop: Shop) -> None:
    # (An order waiting on a hold would add its re-check: none here.)
    await shop.product("S-01")
    await shop.order([{"sku": "S-01", "qty": 1}])
    channel = _channel(shop, bulk_read_min_orders=50)
    try:
        [o async for o in channel.changed_orders_by_size(WINDOW)]  # the scope check and location look-up
        before = len(shop.graphql_log())
        empty = Window(WINDOW.end, WINDOW.end + timedelta(minutes=1))
        assert [o async for o in channel.changed_orders_by_size(empty)] == []
    finally:
        await channel.aclose()
    [request] = [e.request_json() for e in shop.graphql_log()[before:]]
    assert "query PollOrders" in request["query"] and request["variables"]["limit"] == 50


async def test_the_plain_read_never_counts_nor_starts_a_bulk_operation(shop: Shop) -> None:
    # Stock re-reads and the reconcile want the first orders at once: changed_orders stays paged.
    ids = await _world(shop)
    before = len(shop.graphql_log())
    found = _by_id(await _read(shop, bulk=False))
    assert sorted(found) == sorted(ids)
    assert not any("ordersCount" in e.request_json()["query"] for e in shop.graphql_log()[before:])
    assert shop.sandbox.bulk.operations == {}


class _Response:
    """A result file served line by line, counting how far the client has read."""

    def __init__(self, lines: list[bytes]) -> None:
        self.status = 200
        self.lines = lines
        self.served = 0

    async def __aenter__(self) -> _Response:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    @property
    def content(self) -> Any:
        async def lines() -> Any:
            for line in self.lines:
                self.served += 1
                yield line + b"\n"

        return lines()


class _Storage:
    closed = False

    def __init__(self) -> None:
        self.response: _Response | None = None

    def get(self, url: str) -> _Response:
        assert self.response is not None
        return self.response

    async def close(self) -> None:
        return None


async def test_the_result_is_streamed_each_order_handed_on_before_the_file_is_read(shop: Shop) -> None:
    ids = await _world(shop)
    channel = _channel(shop)
    storage = _Storage()
    try:
        finished = await channel._bulk.operations.finished(
            bulk_jsonl.order_query(_search(), FO_QUERY), wait_for_others=True, max_wait_s=60
        )
        async with shop.session.get(finished.url) as real:  # the sandbox's grouped file, as Shopify writes it
            storage.response = _Response((await real.read()).splitlines())
        channel._bulk._session = storage  # type: ignore[assignment]
        served_at_first = None
        found = []
        async for node, reason in channel._bulk._result(finished):
            if served_at_first is None:
                served_at_first = storage.response.served
            assert reason is None
            found.append(node["id"])
    finally:
        await channel.aclose()
    assert sorted(found) == sorted(ids)
    total = len(storage.response.lines)
    # The first order came once the second one's line was read: one order's lines in memory, not the file.
    assert served_at_first is not None and served_at_first < total / 2


async def test_a_catch_up_that_read_orders_logs_one_info_line(shop: Shop) -> None:
    await _world(shop)
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="INFO")
    try:
        await _read(shop, bulk=True)
    finally:
        logger.remove(sink)
    bulk_lines = [line for line in lines if "bulk operation" in line]
    assert len(bulk_lines) == 1 and "10 order(s) changed since" in bulk_lines[0]
