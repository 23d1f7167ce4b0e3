"""The ShopChannel contract, continued: shipments, fulfiller statuses and stock written back, and how every
shop fails (rejected credentials, rate limits, server errors, malformed answers) — for every driver."""

from __future__ import annotations

from decimal import Decimal

import pytest

from daemon.errors import AuthError, ManualActionNeeded, RecordError, RetryableError, SyncError
from daemon.model import (
    FulfillerStatus,
    OrderRef,
    OutboundStatus,
    Shipment,
    ShipmentLine,
    ShopOrder,
    ShopStock,
    Tracking,
    Window,
)
from daemon.ports import ItemFailure, ShopChannel
from tests.contracts.drivers import Shipped, ShopDriver
from tests.contracts.drivers.base import STATUS_TAG


async def placed(shop: ShopDriver, channel: ShopChannel) -> tuple[OrderRef, ShopOrder]:
    for sku in ("A", "B"):
        await shop.product(sku)
    ref = await shop.order([("A", 2), ("B", 1)])
    order = await channel.get_order(ref.order_id)
    assert isinstance(order, ShopOrder)
    return ref, order


def parcel(
    sid: str, order: ShopOrder, quantities: dict[str, int], tracking: str | None, status: OutboundStatus
) -> Shipment:
    """A shipment as the engine hands it over: every line with its SKU and the shop's line id."""
    lines = tuple(
        ShipmentLine(Decimal(quantities[line.sku]), jfsku=f"J-{line.sku}", sku=line.sku, line_id=line.line_id)
        for line in order.lines
        if line.sku in quantities
    )
    trackings = (Tracking(tracking, "DHL", f"https://track.example/{tracking}"),) if tracking else ()
    return Shipment(sid, "OB-1", order.number, lines, trackings, outbound_status=status)


def cancelled(status: OutboundStatus = OutboundStatus.CANCELED) -> FulfillerStatus:
    return FulfillerStatus("OB-1", "SHOP-1001", status, cancel_reason="out of stock")


async def test_shipments_become_fulfilments_partial_then_final_each_once(shop: ShopDriver) -> None:
    channel = shop.channel()
    ref, order = await placed(shop, channel)
    first = parcel("S-1", order, {"A": 1}, "T-1", OutboundStatus.PARTIALLY_SHIPPED)
    rest = parcel("S-2", order, {"A": 1, "B": 1}, "T-2", OutboundStatus.SHIPPED)

    await channel.apply_shipment(ref, first)
    assert await shop.shipped(ref) == Shipped(("T-1",), complete=False)
    writes = shop.writes()
    await channel.apply_shipment(ref, first)  # the same shipment again: nothing changes
    assert shop.writes() == writes and await shop.shipped(ref) == Shipped(("T-1",), complete=False)

    await channel.apply_shipment(ref, rest)
    assert await shop.shipped(ref) == Shipped(("T-1", "T-2"), complete=True)
    writes = shop.writes()
    await channel.apply_shipment(ref, rest)
    await channel.apply_shipment(ref, first)
    assert shop.writes() == writes and await shop.shipped(ref) == Shipped(("T-1", "T-2"), complete=True)


async def test_a_shipment_without_tracking_still_ships(shop: ShopDriver) -> None:
    channel = shop.channel()
    ref, order = await placed(shop, channel)
    await channel.apply_shipment(ref, parcel("S-1", order, {"A": 2, "B": 1}, None, OutboundStatus.SHIPPED))
    assert await shop.shipped(ref) == Shipped((), complete=True)


async def test_a_shipment_for_a_deleted_order_is_a_record_error(shop: ShopDriver) -> None:
    channel = shop.channel()
    ref, order = await placed(shop, channel)
    await shop.delete(ref)
    with pytest.raises(RecordError, match=rf"(?s){ref.number}.*{shop.gone_wording}"):
        await channel.apply_shipment(ref, parcel("S-1", order, {"A": 2}, "T-1", OutboundStatus.SHIPPED))


async def test_a_shipment_for_an_order_cancelled_in_the_shop_needs_a_human(shop: ShopDriver) -> None:
    channel = shop.channel()
    ref, order = await placed(shop, channel)
    await shop.cancel(ref)
    with pytest.raises(ManualActionNeeded):
        await channel.apply_shipment(ref, parcel("S-1", order, {"A": 2}, "T-1", OutboundStatus.SHIPPED))
    assert (await shop.shipped(ref)).trackings == ()


async def test_a_fulfiller_cancel_only_notes_and_tags_unless_the_shop_may_cancel(shop: ShopDriver) -> None:
    channel = shop.channel()
    ref, _ = await placed(shop, channel)

    await channel.apply_order_status(ref, cancelled(), cancel_in_shop=False)

    state = await shop.order_state(ref)
    assert not state.cancelled and STATUS_TAG in state.tags
    if shop.keeps_notes:
        assert "out of stock" in state.notes
    writes = shop.writes()
    await channel.apply_order_status(ref, cancelled(), cancel_in_shop=False)
    assert shop.writes() == writes and await shop.order_state(ref) == state


async def test_a_fulfiller_cancel_cancels_in_the_shop_once_when_allowed(shop: ShopDriver) -> None:
    channel = shop.channel()
    ref, _ = await placed(shop, channel)

    await channel.apply_order_status(ref, cancelled(), cancel_in_shop=True)

    state = await shop.order_state(ref)
    assert state.cancelled and STATUS_TAG in state.tags and "out of stock" in state.notes
    writes = shop.writes()
    await channel.apply_order_status(ref, cancelled(), cancel_in_shop=True)
    assert shop.writes() == writes and await shop.order_state(ref) == state


@pytest.mark.parametrize(
    "status", [OutboundStatus.LOCKED, OutboundStatus.PICKPROCESS, OutboundStatus.SHIPPED]
)
async def test_statuses_with_nothing_to_reflect_write_nothing(
    shop: ShopDriver, status: OutboundStatus
) -> None:
    channel = shop.channel()
    ref, _ = await placed(shop, channel)
    before = await shop.order_state(ref)
    reads = shop.reads()
    await channel.apply_order_status(ref, cancelled(status), cancel_in_shop=True)
    assert shop.writes() == 0 and shop.reads() == reads  # not even a look at the order
    assert await shop.order_state(ref) == before


async def test_a_status_for_a_deleted_order_is_a_record_error(shop: ShopDriver) -> None:
    channel = shop.channel()
    ref, _ = await placed(shop, channel)
    await shop.delete(ref)
    with pytest.raises(RecordError, match=rf"(?s){ref.number}.*{shop.gone_wording}"):
        await channel.apply_order_status(ref, cancelled(), cancel_in_shop=False)


async def test_stock_is_written_in_batches_with_one_typed_result_per_item(shop: ShopDriver) -> None:
    skus = [f"S-{n:02}" for n in range(12)]
    for sku in skus:
        await shop.product(sku)
    refused, why = await shop.refused_item()
    levels = [ShopStock(sku, n) for n, sku in enumerate(skus)]
    levels[5:5] = [ShopStock("NOPE-1", 4), refused]  # in the middle of a batch

    results = await shop.channel().set_stock(levels)

    assert sorted(r.key for r in results) == sorted(level.sku for level in levels)
    by_key = {r.key: r for r in results}
    assert [sku for sku in skus if not by_key[sku].ok] == []  # the bad items fail alone
    unknown = by_key["NOPE-1"]
    assert not unknown.ok and unknown.reason is ItemFailure.UNKNOWN_SKU and "NOPE-1" in (unknown.error or "")
    assert not by_key[refused.sku].ok and by_key[refused.sku].reason is why and by_key[refused.sku].error
    stock = await shop.stock()
    assert [stock[sku] for sku in skus] == list(range(12))
    assert stock.get(refused.sku) != refused.quantity
    assert shop.writes() <= 3  # batched: not one write per item


async def test_rejected_credentials_are_a_channel_fatal_error_without_the_secret(shop: ShopDriver) -> None:
    await shop.product("A")
    ref = await shop.order([("A", 1)])
    channel, secret = shop.channel_with_wrong_secret()
    window = Window(shop.clock.now(), shop.clock.now())
    attempts = [
        channel.get_order(ref.order_id),
        anext(aiter(channel.changed_orders(window)), None),
        channel.set_stock([ShopStock("A", 1)]),
        channel.apply_order_status(ref, cancelled(), cancel_in_shop=False),
    ]
    for attempt in attempts:
        with pytest.raises(AuthError) as caught:
            await attempt
        assert secret not in f"{caught.value} {caught.value!r} {caught.value.details}"
    assert secret not in repr(channel)
    assert shop.writes() == 0


def over_http(shop: ShopDriver) -> None:
    if not shop.over_http:
        pytest.skip("the fake has no wire: nothing to rate-limit or garble")


async def test_a_rate_limit_is_waited_out_as_long_as_the_shop_asks(shop: ShopDriver) -> None:
    over_http(shop)
    await shop.product("A")
    ref = await shop.order([("A", 1)])
    channel = shop.channel()
    shop.wire.fail_next(429, times=2, retry_after_s=7)  # type: ignore[attr-defined]

    order = await channel.get_order(ref.order_id)

    assert isinstance(order, ShopOrder) and order.number == ref.number
    assert len([s for s in shop.clock.slept if s >= 7]) >= 2


async def test_server_errors_are_retried_then_raised_as_retryable(shop: ShopDriver) -> None:
    channel = shop.channel()
    ref, order = await placed(shop, channel)
    if shop.over_http:
        shop.wire.fail_next(503)  # type: ignore[attr-defined]
        assert isinstance(await channel.get_order(ref.order_id), ShopOrder)  # one blip is retried
    shop.fail_every_call(503)
    with pytest.raises(RetryableError):
        await channel.apply_shipment(ref, parcel("S-1", order, {"A": 2}, "T-1", OutboundStatus.SHIPPED))
    with pytest.raises(RetryableError):
        await channel.set_stock([ShopStock("A", 1)])
    shop.fail_every_call(0)
    assert (await shop.shipped(ref)).trackings == ()


async def test_a_malformed_answer_is_a_typed_error(shop: ShopDriver) -> None:
    over_http(shop)
    await shop.product("A")
    ref = await shop.order([("A", 1)])
    channel = shop.channel()
    shop.wire.garble()  # type: ignore[attr-defined]
    window = Window(shop.clock.now(), shop.clock.now())

    for attempt in (channel.get_order(ref.order_id), anext(aiter(channel.changed_orders(window)), None)):
        with pytest.raises(SyncError):
            await attempt
