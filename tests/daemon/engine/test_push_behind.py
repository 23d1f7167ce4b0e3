"""A backlog read page by page is pushed in the background while the next page is read (``PushBehind``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from loguru import logger

from daemon.engine.cycle import CycleCounts, sync
from daemon.engine.flows import orders
from daemon.errors import ChannelFatalError, RetryableError
from daemon.model import Outbound, ShopOrder, Window
from daemon.ports import UnreadableOrder
from tests.daemon.engine.conftest import World

TWO_PER_PAGE = replace(orders.ORDERS, page_size=2)


def record_traffic(world: World, events: list[str], *, fail_after: int | None = None) -> None:
    """Reads and creates in the order they happen; creates take a few loop turns, as a real round trip."""
    read = world.shop.changed_orders
    create = world.ffn.create_outbound

    async def reading(window: Window) -> AsyncIterator[ShopOrder | UnreadableOrder]:
        count = 0
        async for order in read(window):
            if fail_after is not None and count == fail_after:
                raise RetryableError("the shop went away mid-read", upstream="fake")
            count += 1
            events.append(f"read {order.order_id}")
            yield order

    async def creating(outbound: Outbound) -> str:
        events.append(f"create {outbound.merchant_outbound_number}")
        for _ in range(3):
            await asyncio.sleep(0)
        created = await create(outbound)
        events.append(f"created {outbound.merchant_outbound_number}")
        return created

    world.shop.changed_orders = reading  # type: ignore[method-assign]
    world.ffn.create_outbound = creating  # type: ignore[method-assign]


async def test_the_next_page_is_read_while_the_page_before_is_sent(world: World) -> None:
    for n in range(1, 6):
        world.order(n)
    events: list[str] = []
    record_traffic(world, events)

    counts = CycleCounts()
    await sync(world.ctx, TWO_PER_PAGE, world.ctx.settings.channel("shop"), counts)

    assert counts.pushed == 5 and len(world.ffn.outbounds) == 5
    # Page 2 (orders 3 and 4) is read before page 1's creates are answered, not after them.
    assert events.index("read 3") < events.index("created S-#2")
    assert world.ffn.writes == [("create_outbound", o) for o in world.ffn.outbounds]  # each once


async def test_a_failed_read_lets_the_page_before_finish_and_reports_the_read(world: World) -> None:
    for n in range(1, 6):
        world.order(n)
    events: list[str] = []
    record_traffic(world, events, fail_after=3)

    with pytest.raises(RetryableError, match="mid-read"):
        await sync(world.ctx, TWO_PER_PAGE, world.ctx.settings.channel("shop"), CycleCounts())

    # Page 1 was being sent when page 2 failed: its creates finished and were recorded.
    assert sorted(o.merchant_outbound_number for o in world.ffn.outbounds.values()) == ["S-#1", "S-#2"]
    states = await world.pool.fetch(
        "SELECT external_id, state FROM snapshot WHERE entity = 'order' ORDER BY external_id"
    )
    assert [(r["external_id"], r["state"]) for r in states] == [("1", "synced"), ("2", "synced")]


async def test_a_push_that_fails_alongside_a_failed_read_is_still_reported(world: World) -> None:
    for n in range(1, 6):
        world.order(n)
    events: list[str] = []
    record_traffic(world, events, fail_after=3)

    async def refused(outbound: Outbound) -> str:
        raise ChannelFatalError("FFN rejected the credentials (401)", upstream="ffn")

    world.ffn.create_outbound = refused  # type: ignore[method-assign]
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="WARNING")
    try:
        with pytest.raises(RetryableError, match="mid-read"):
            await sync(world.ctx, TWO_PER_PAGE, world.ctx.settings.channel("shop"), CycleCounts())
    finally:
        logger.remove(sink)
    assert [line for line in lines if "credentials" in line]
