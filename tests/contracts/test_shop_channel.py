"""The ShopChannel contract (daemon/ports.py), once for every shop adapter against its sandbox and for
the engine's fake. A new adapter gets all of it by adding its driver to tests/contracts/drivers.

Reads: windows, order of results, paging, every status, unreadable and missing orders, typed errors.
Writes and failure modes: tests/contracts/test_shop_writes.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from daemon.config.channels import CHANNEL_KINDS
from daemon.errors import RetryableError
from daemon.model import ShopOrder, Window
from daemon.ports import CatchUpReads, ShopChannel, UnreadableOrder
from tests.contracts.drivers import SHOP_DRIVERS, ShopDriver


async def pull(channel: ShopChannel, window: Window) -> list[ShopOrder | UnreadableOrder]:
    return [order async for order in channel.changed_orders(window)]


def lines_of(order: ShopOrder | UnreadableOrder) -> list[tuple[str | None, int]]:
    return [(line.sku, line.quantity) for line in order.lines if line.requires_shipping]


async def test_the_channel_names_its_kind_and_stock_mode(shop: ShopDriver) -> None:
    channel = shop.channel()
    assert isinstance(channel, ShopChannel)
    assert channel.kind == shop.kind and isinstance(channel.stock_cas, bool)


async def test_changed_products_are_those_of_the_window_each_once_across_pages(shop: ShopDriver) -> None:
    # No order is promised (Shopware pages by creation, see daemon/ports.py); each unit comes once.
    start = shop.clock.now() + timedelta(seconds=10)
    for sku in ("BEFORE", "AT-START", "P-2", "P-3", "P-4", "AT-END"):
        await shop.product(sku)
        shop.clock.advance(10)
    window = Window(start, start + timedelta(seconds=40))  # [AT-START, AT-END)
    shop.clock.advance(60)

    products = [p async for p in shop.channel(page_size=2).changed_products(window)]

    assert sorted(p.sku for p in products) == ["AT-START", "P-2", "P-3", "P-4"]
    assert all(p.external_id and p.name for p in products)


async def test_changed_orders_are_those_changed_in_the_window_in_any_status(shop: ShopDriver) -> None:
    for sku in ("A", "B"):
        await shop.product(sku)
    edited_later = await shop.order([("A", 1)])
    shop.clock.advance(10)
    start = shop.clock.now()
    paid = await shop.order([("A", 2), ("B", 1)])
    shop.clock.advance(10)
    unpaid = await shop.order([("B", 1)], paid=False)
    shop.clock.advance(10)
    cancelled = await shop.order([("A", 1)])
    await shop.cancel(cancelled)
    shop.clock.advance(10)
    edited_at = shop.clock.now()
    await shop.edit(edited_later)
    shop.clock.advance(10)
    await shop.order([("A", 1)])  # at the window's end: the next window's
    window = Window(start, shop.clock.now())
    shop.clock.advance(60)

    orders = {o.order_id: o for o in await pull(shop.channel(page_size=2), window)}
    assert orders[edited_later.order_id].updated_at == edited_at

    assert set(orders) == {paid.order_id, unpaid.order_id, cancelled.order_id, edited_later.order_id}
    first, gone = orders[paid.order_id], orders[cancelled.order_id]
    assert isinstance(first, ShopOrder) and isinstance(gone, ShopOrder)
    assert first.number == paid.number and lines_of(first) == [("A", 2), ("B", 1)]
    assert gone.cancelled and not first.cancelled


async def test_changed_orders_come_each_once_across_pages(shop: ShopDriver) -> None:
    # The order is not part of the contract (Shopware cannot sort by change time, see daemon/ports.py).
    await shop.product("A")
    await shop.order([("A", 1)])  # before the window
    shop.clock.advance(10)
    start = shop.clock.now()
    refs = []
    for _ in range(5):
        refs.append(await shop.order([("A", 1)]))
        shop.clock.advance(10)
    edited_at = shop.clock.now()
    await shop.edit(refs[1])
    shop.clock.advance(10)

    orders = await pull(shop.channel(page_size=2), Window(start, shop.clock.now()))

    assert sorted(o.order_id for o in orders) == sorted(ref.order_id for ref in refs)
    assert all(o.updated_at is not None and start <= o.updated_at < shop.clock.now() for o in orders)
    edited = next(o for o in orders if o.order_id == refs[1].order_id)
    assert edited.updated_at is not None and edited.updated_at >= edited_at


async def test_a_one_go_read_gives_the_records_of_the_paged_read(shop: ShopDriver) -> None:
    # Optional (CatchUpReads, used for large catch-ups): where a shop has it, nothing may tell them apart.
    channel = shop.channel(page_size=2)
    if not isinstance(channel, CatchUpReads):
        pytest.skip(f"{shop.kind} reads every window page by page")
    for sku in ("A", "B"):
        await shop.product(sku)
    start = shop.clock.now()
    first = await shop.order([("A", 1), ("B", 2)])
    shop.clock.advance(10)
    cancelled = await shop.order([("B", 1)], paid=False)
    await shop.cancel(cancelled)
    shop.clock.advance(10)
    await shop.edit(first)
    shop.clock.advance(10)
    await shop.order([("A", 3)])
    shop.clock.advance(10)
    window = Window(start, shop.clock.now())
    shop.clock.advance(60)

    paged = {o.order_id: o for o in await pull(channel, window)}
    at_once = [o async for o in channel.changed_orders_bulk(window)]

    assert len(at_once) == len({o.order_id for o in at_once}) == 3
    assert {o.order_id: o for o in at_once} == paged


async def test_an_unreadable_order_is_yielded_with_its_reason_and_the_pull_goes_on(shop: ShopDriver) -> None:
    await shop.product("A")
    start = shop.clock.now()
    before = await shop.order([("A", 1)])
    shop.clock.advance(10)
    broken = await shop.order([("A", 2)])
    shop.clock.advance(10)
    after = await shop.order([("A", 3)])
    reason = await shop.make_unreadable(broken)
    shop.clock.advance(60)

    orders = await pull(shop.channel(), Window(start, shop.clock.now()))

    assert [o.order_id for o in orders] == [before.order_id, broken.order_id, after.order_id]
    assert isinstance(orders[0], ShopOrder) and isinstance(orders[2], ShopOrder)
    unreadable = orders[1]
    assert isinstance(unreadable, UnreadableOrder)
    assert unreadable.number == broken.number and unreadable.updated_at is not None
    assert unreadable.reason == reason
    assert lines_of(unreadable) == [("A", 2)]  # their stock stays reserved while the order is parked


async def test_get_order_reads_one_order_with_its_lines(shop: ShopDriver) -> None:
    for sku in ("A", "B"):
        await shop.product(sku)
    ref = await shop.order([("A", 2), ("B", 1)])

    order = await shop.channel().get_order(ref.order_id)

    assert isinstance(order, ShopOrder)
    assert (order.order_id, order.number) == (ref.order_id, ref.number)
    assert lines_of(order) == [("A", 2), ("B", 1)]
    assert all(line.line_id for line in order.lines) and order.currency == "EUR" and not order.cancelled


async def test_get_order_of_a_deleted_order_is_none(shop: ShopDriver) -> None:
    await shop.product("A")
    ref = await shop.order([("A", 1)])
    channel = shop.channel()
    assert await channel.get_order(ref.order_id) is not None
    await shop.delete(ref)

    assert await channel.get_order(ref.order_id) is None


async def test_get_order_of_an_unreadable_order_reports_it_as_the_pull_does(shop: ShopDriver) -> None:
    await shop.product("A")
    start = shop.clock.now()
    ref = await shop.order([("A", 2)])
    reason = await shop.make_unreadable(ref)
    shop.clock.advance(60)
    channel = shop.channel()

    got = await channel.get_order(ref.order_id)

    assert isinstance(got, UnreadableOrder) and got.reason == reason
    assert [got] == await pull(channel, Window(start, shop.clock.now()))


async def test_an_order_that_cannot_be_read_now_is_an_error_never_none_or_nothing(shop: ShopDriver) -> None:
    await shop.product("A")
    start = shop.clock.now()
    ref = await shop.order([("A", 1)])
    shop.clock.advance(60)
    channel = shop.channel()
    window = Window(start, shop.clock.now())
    shop.fail_every_call(503)

    with pytest.raises(RetryableError):
        await channel.get_order(ref.order_id)
    with pytest.raises(RetryableError):
        await pull(channel, window)

    shop.fail_every_call(0)
    assert [o.order_id for o in await pull(channel, window)] == [ref.order_id]


def test_every_shop_kind_the_config_accepts_runs_this_suite() -> None:
    covered = {driver().kind for driver in SHOP_DRIVERS.values()}
    assert set(CHANNEL_KINDS) <= covered, "add a driver to tests/contracts/drivers for the new shop kind"
