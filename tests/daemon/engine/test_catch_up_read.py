"""A long backlog (first import, resync, an outage) is one window read in one go when the channel can
(``CatchUpReads``); the cursor moves exactly as after the windowed paged reads, overlap kept, nothing skipped."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from daemon.engine.cycle import CycleCounts
from daemon.engine.flows import orders
from daemon.engine.settings import CursorSettings, MerchantSettings
from daemon.engine.windows import FreshWindow
from daemon.ids import outbound_id
from daemon.model import ShopOrder, Window
from daemon.ports import CatchUpReads, SizedReads, UnreadableOrder
from tests.daemon.engine.conftest import World, channel_settings
from tests.daemon.engine.fakes import FakeShop

SIX_HOURS = 6 * 3600.0


@dataclass
class BulkShop(FakeShop):
    """The fake shop with a one-go read (what Shopify's bulk operations give), recording every read."""

    paged: list[Window] = field(default_factory=list)
    bulk: list[Window] = field(default_factory=list)

    async def changed_orders(self, window: Window) -> AsyncIterator[ShopOrder | UnreadableOrder]:
        self.paged.append(window)
        async for order in super().changed_orders(window):
            yield order

    async def changed_orders_bulk(self, window: Window) -> AsyncIterator[ShopOrder | UnreadableOrder]:
        self.bulk.append(window)
        async for order in super().changed_orders(window):
            yield order


def _with(world: World, shop: FakeShop, catch_up_after_s: float | None) -> None:
    cursor = CursorSettings(
        overlap_s=60, lag_s=5, first_window_s=3 * 86400, catch_up_after_s=catch_up_after_s
    )
    settings: MerchantSettings = replace(world.ctx.settings, channels=(channel_settings(cursor=cursor),))
    world.ctx.settings = settings
    world.ctx.channels["shop"] = shop  # type: ignore[index]
    world.shop = shop


async def _cycle(world: World) -> CycleCounts:
    counts = CycleCounts()
    await orders.run(world.ctx, world.ctx.settings.channel("shop"), counts)
    return counts


async def _cursor(world: World) -> datetime:
    position = await world.ctx.cursors.get("shop", "orders")
    assert position is not None
    return position


def _orders_over(world: World, days: int) -> list[str]:
    now = world.clock.now()
    made = []
    for hour in range(0, days * 24, 5):
        at = now - timedelta(hours=hour, minutes=3)
        made.append(world.order(1000 + hour, created_at=at, updated_at=at).order_id)
    return made


async def test_a_first_import_is_one_bulk_read_and_the_cursor_ends_where_paged_reads_end(
    world: World,
) -> None:
    shop = BulkShop()
    assert isinstance(shop, CatchUpReads)
    _with(world, shop, SIX_HOURS)
    made = _orders_over(world, 3)
    counts = await _cycle(world)
    end = (world.clock.now() - timedelta(seconds=5)).replace(microsecond=0)
    assert shop.bulk == [Window(end - timedelta(days=3), end)] and shop.paged == []
    assert counts.pulled == len(made)
    assert set(world.ffn.outbounds) == {outbound_id("MERC", "shop", o) for o in made}
    assert await _cursor(world) == end

    world.clock.advance(60)  # an ordinary cycle: a short paged window from the cursor minus the overlap
    await _cycle(world)
    assert len(shop.bulk) == 1
    assert shop.paged[-1].start == end - timedelta(seconds=60)


async def test_the_same_backlog_read_page_by_page_gives_the_same_outcome(world: World) -> None:
    bulk_world_shop = BulkShop()
    _with(world, bulk_world_shop, None)  # no catch-up setting: windows of a day, paged
    made = _orders_over(world, 3)
    await _cycle(world)
    assert bulk_world_shop.bulk == [] and len(bulk_world_shop.paged) == 4  # a day each, overlapping
    assert set(world.ffn.outbounds) == {outbound_id("MERC", "shop", o) for o in made}
    assert await _cursor(world) == (world.clock.now() - timedelta(seconds=5)).replace(microsecond=0)


async def test_a_shop_without_a_one_go_read_keeps_its_windows(world: World) -> None:
    shop = FakeShop()
    assert not isinstance(shop, CatchUpReads)
    _with(world, shop, SIX_HOURS)
    made = _orders_over(world, 3)
    await _cycle(world)
    assert set(world.ffn.outbounds) == {outbound_id("MERC", "shop", o) for o in made}


async def test_a_resync_and_an_outage_are_caught_up_in_bulk_a_short_gap_is_not(world: World) -> None:
    shop = BulkShop()
    _with(world, shop, SIX_HOURS)
    await _cycle(world)  # first import (nothing there)
    world.clock.advance(5 * 3600)  # five hours down: under the threshold
    await _cycle(world)
    assert len(shop.bulk) == 1 and len(shop.paged) == 1
    world.clock.advance(7 * 3600)  # seven hours down: over it
    late = world.order(77)
    await _cycle(world)
    assert len(shop.bulk) == 2 and len(shop.paged) == 1
    assert shop.bulk[-1].start == shop.paged[-1].end - timedelta(seconds=60)  # overlap kept
    assert outbound_id("MERC", "shop", late.order_id) in world.ffn.outbounds

    await world.pool.execute("UPDATE cursors SET position = position - interval '2 days'")  # ffn-sync resync
    world.ctx.cursors.forget()  # as the daemon does on the resync's announcement (test_cursor_memory.py)
    before = len(world.ffn.writes)
    await _cycle(world)
    assert len(shop.bulk) == 3
    assert len(world.ffn.writes) == before  # read again, nothing sent twice


@dataclass
class SizedShop(BulkShop):
    """The fake shop that also decides per poll window between one go and pages (``SizedReads``)."""

    sized: list[Window] = field(default_factory=list)

    async def changed_orders_by_size(self, window: Window) -> AsyncIterator[ShopOrder | UnreadableOrder]:
        self.sized.append(window)
        async for order in FakeShop.changed_orders(self, window):
            yield order


async def test_a_poll_lets_the_shop_decide_by_size_a_nudged_read_is_paged(world: World) -> None:
    shop = SizedShop()
    assert isinstance(shop, SizedReads)
    _with(world, shop, SIX_HOURS)
    world.clock.advance(10)
    made = world.order(1, created_at=world.clock.now(), updated_at=world.clock.now()).order_id
    await _cycle(world)  # the first import: a catch-up
    assert len(shop.bulk) == 1 and shop.sized == [] and shop.paged == []
    world.clock.advance(60)
    await _cycle(world)  # a poll: one window, the shop's choice
    assert len(shop.sized) == 1 and shop.paged == []
    # A webhook nudges the flow: the read up to now is about latency, page by page whatever it holds.
    world.ctx.nudges.request("shop", "orders", new_record=True)
    world.clock.advance(1)
    await _cycle(world)
    assert shop.paged and all(isinstance(w, FreshWindow) for w in shop.paged)
    assert not any(isinstance(w, FreshWindow) for w in shop.sized)
    assert outbound_id("MERC", "shop", made) in world.ffn.outbounds
