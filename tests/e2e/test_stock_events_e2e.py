"""A shop's stock is compared when what it depends on changed, and at its safety interval otherwise
(daemon.engine.stock_changes), under the real scheduler: FFN's stock dropping reaches the shop within an
FFN stock cycle and a little, an order in one shop lowers the others' figure at once, and a change made
outside the process is still written by the safety comparison.

Each shop's ``[channels.intervals] stock`` is set far beyond the test (600 s) where the test is about
changes: only the event path can pass it (the code before this change compared at that interval).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from daemon.engine.stock_changes import MIN_GAP_S
from daemon.scheduler import SyncScheduler
from sandboxes.world.running import InProcessSandbox
from tests.e2e.stack import TIMING, Stack, stack
from tests.e2e.world import ADDRESS, seed_catalogue

SAFETY_S = 600.0  # beyond any test: a comparison within it came from an announced change
FFN_STOCK_S = TIMING.stock_s
MUG_X2 = [{"sku": "MUG", "qty": 2, "price": "12.50"}]


async def mugs(s: Stack, shop: InProcessSandbox) -> int:
    return int((await s.control(shop, "GET", "stock"))["MUG"])


async def seconds_until(limit_s: float, check: Callable[[], Awaitable[bool]]) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        if await check():
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    return None


@asynccontextmanager
async def scheduled(s: Stack, shop_stock_s: float) -> AsyncIterator[SyncScheduler]:
    """The runtime rebuilt with this safety interval, its jobs on the real scheduler, wired as the
    daemon wires them."""
    # No reconcile during the test: its full stock read would undo the hand-made change of the last test.
    timing = dataclasses.replace(TIMING, shop_stock_s=shop_stock_s, reconcile_s=SAFETY_S)
    await s.reconfigure(timing=timing)
    scheduler = SyncScheduler()
    scheduler.start(s.runtime.jobs)
    s.runtime.bind_trigger(scheduler.trigger)
    try:
        yield scheduler
    finally:
        await scheduler.stop(5)


async def start(s: Stack, shops: list[InProcessSandbox], level: int) -> None:
    for shop in shops:
        await seed_catalogue(s, shop)
    await s.settle(1)  # the products reach FFN
    await s.control(s.ffn, "PUT", "stock/MUG", {"level": level})
    await s.settle(1)
    assert [await mugs(s, shop) for shop in shops] == [level] * len(shops)


@pytest.mark.timeout(120)
async def test_ffn_stock_dropping_reaches_the_shop_within_an_ffn_stock_cycle(
    tmp_path: Path, pg_dsn: str
) -> None:
    async with stack(tmp_path, pg_dsn, ["shopware"]) as s:
        shop = s.shops["shopware-main"]
        await start(s, [shop], 10)
        async with scheduled(s, SAFETY_S):
            await asyncio.sleep(MIN_GAP_S)  # the comparison every shop gets at start is behind us
            for level in (4, 7, 0):
                await s.control(s.ffn, "PUT", "stock/MUG", {"level": level})
                took = await seconds_until(30, lambda level=level: _has(s, shop, level))
                print(f"MUG={level} in the shop after {took}s")
                # One FFN stock cycle, the gap between two comparisons of a shop, and a little.
                assert took is not None and took <= FFN_STOCK_S + MIN_GAP_S + 3, f"MUG={level}: {took}"


async def _has(s: Stack, shop: InProcessSandbox, level: int) -> bool:
    return await mugs(s, shop) == level


@pytest.mark.timeout(120)
async def test_an_order_in_one_shop_lowers_the_other_shop_s_figure_at_once(
    tmp_path: Path, pg_dsn: str
) -> None:
    # No default shipping method: the order below is parked (unmapped method), so FFN's stock does not
    # move at all and only the order itself, stored by shop A's orders flow, can lower shop B's figure.
    async with stack(tmp_path, pg_dsn, ["shopware", "woocommerce"], shipping_default=None) as s:
        a, b = s.shops["shopware-main"], s.shops["woocommerce-main"]
        await start(s, [a, b], 10)
        async with scheduled(s, SAFETY_S):
            await asyncio.sleep(MIN_GAP_S)
            order = {"lines": MUG_X2, "paid": True, "shipping_method": "Teleport", "address": ADDRESS}
            await s.control(a, "POST", "orders", order)
            took = await seconds_until(30, lambda: _has(s, b, 8))
            print(f"shop B shows the paid order of shop A after {took}s")
            assert took is not None and took <= TIMING.orders_s + MIN_GAP_S + 3
            assert await s.control(s.ffn, "GET", "outbounds") == []  # reserved by the order, not by FFN


@pytest.mark.timeout(120)
async def test_a_change_made_outside_the_process_is_written_by_the_safety_comparison(
    tmp_path: Path, pg_dsn: str
) -> None:
    safety_s = 6.0
    async with stack(tmp_path, pg_dsn, ["woocommerce"]) as s:
        shop = s.shops["woocommerce-main"]
        await start(s, [shop], 10)
        async with scheduled(s, safety_s):
            await asyncio.sleep(MIN_GAP_S)
            # A tool (or a person) corrects the level in the database: nothing in the process hears of it.
            await s.db.pool.execute(
                "UPDATE ffn_stock SET available = 3 WHERE merchant_id = 'acme' AND sku = 'MUG'"
            )
            took = await seconds_until(30, lambda: _has(s, shop, 3))
            print(f"the corrected level reached the shop after {took}s (safety interval {safety_s:g}s)")
            assert took is not None and took <= safety_s + 5 + 2  # the interval, its jitter, a little
