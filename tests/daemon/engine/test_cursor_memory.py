"""A merchant's cursors are kept in memory by the process that owns it (an idle fleet read one per poll only
to find what it had written itself), and a cursor moved back by ``ffn-sync resync`` is still honoured by
the running daemon on its next cycle: the rewind is announced, and the daemon forgets what it kept."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from daemon.engine.cycle import CycleCounts
from daemon.engine.flows import orders
from daemon.engine.reports import resync
from daemon.model import ShopOrder, Window
from daemon.ports import UnreadableOrder
from daemon.store.wake import listen_for_wakes
from daemon.wiring.build import MerchantRuntime
from tests.daemon.engine.conftest import World
from tests.daemon.engine.fakes import FakeShop


@dataclass
class RecordingShop(FakeShop):
    windows: list[Window] = field(default_factory=list)
    during_read: Callable[[], Awaitable[None]] | None = None

    async def changed_orders(self, window: Window) -> AsyncIterator[ShopOrder | UnreadableOrder]:
        self.windows.append(window)
        if self.during_read is not None:
            hook, self.during_read = self.during_read, None
            await hook()
        async for order in super().changed_orders(window):
            yield order


def _recording(world: World) -> RecordingShop:
    shop = RecordingShop()
    world.ctx.channels["shop"] = shop  # type: ignore[index]
    world.shop = shop
    return shop


async def _cycle(world: World) -> None:
    await orders.run(world.ctx, world.ctx.settings.channel("shop"), CycleCounts())


async def test_a_resync_is_honoured_on_the_running_daemon_s_next_cycle(world: World, pg_dsn: str) -> None:
    shop = RecordingShop()
    world.ctx.channels["shop"] = shop  # type: ignore[index]
    world.shop = shop
    world.order(1)
    await _cycle(world)
    world.clock.advance(60)
    await _cycle(world)  # the position is kept in memory now
    assert shop.windows[-1].start > world.clock.now() - timedelta(minutes=5)

    runtime = MerchantRuntime(contexts=[world.ctx])
    rewinds: asyncio.Queue[str | None] = asyncio.Queue()

    def on_rewind(merchant: str | None) -> None:
        runtime.forget_cursors(merchant)  # what the daemon's app does (daemon.app.App._on_rewind)
        rewinds.put_nowait(merchant)

    listener = asyncio.create_task(listen_for_wakes(pg_dsn, lambda _m: None, None, on_rewind))
    try:
        assert await asyncio.wait_for(rewinds.get(), 10) is None  # listening: anything missed is forgotten
        await _cycle(world)  # and read again
        since = world.clock.now() - timedelta(days=2)
        assert await resync(world.pool, merchant="acme", since=since, flow="orders", channel=None) == 1
        assert await asyncio.wait_for(rewinds.get(), 10) == "acme"
        world.clock.advance(60)
        before = len(shop.windows)
        await _cycle(world)
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
    assert shop.windows[before].start <= since  # the rewound position, not the one kept in memory
    assert len(world.ffn.outbounds) == 1  # the order went out once; the re-read sent nothing new


async def test_a_cursor_is_remembered_only_once_its_transaction_committed(world: World) -> None:
    cursors = world.ctx.cursors
    at = world.clock.now()
    async with world.pool.acquire() as conn:
        with pytest.raises(RuntimeError):
            async with conn.transaction():
                await cursors.advance(conn, "shop", "orders", at, read_from=at)
                raise RuntimeError("the window's rows failed to store")
    assert await cursors.get("shop", "orders") is None  # not a position Postgres never kept
    async with world.pool.acquire() as conn:
        async with conn.transaction():
            stored = await cursors.advance(conn, "shop", "orders", at, read_from=at)
        assert stored == at
        cursors.remember("shop", "orders", stored)
    await world.pool.execute("DELETE FROM cursors")  # unannounced: not seen while the memory is trusted
    assert await cursors.get("shop", "orders") == at
    world.clock.advance(cursors.TRUST_S)
    assert await cursors.get("shop", "orders") is None  # a memory is trusted for TRUST_S at most


async def test_a_rewind_the_daemon_never_heard_of_is_not_undone_by_its_next_window(world: World) -> None:
    shop = _recording(world)
    world.order(1)
    await _cycle(world)
    world.clock.advance(60)
    await _cycle(world)  # the position is kept in memory now
    since = world.clock.now() - timedelta(days=2)
    # No listener: the announcement is lost (a half-open LISTEN connection, a reconnect).
    assert await resync(world.pool, merchant="acme", since=since, flow="orders", channel=None) == 1
    world.clock.advance(60)
    world.order(2)  # a busy merchant: the next window stores an order and would move the cursor
    await _cycle(world)  # planned from memory, after the rewind: it must not overwrite it
    await _cycle(world)
    assert any(w.start <= since for w in shop.windows[2:]), "the rewound range was never read"


async def test_a_rewind_while_a_window_is_read_is_not_undone_by_its_end(world: World) -> None:
    shop = _recording(world)
    world.order(1)
    await _cycle(world)
    world.clock.advance(60)
    since = world.clock.now() - timedelta(days=2)

    async def rewind() -> None:
        await resync(world.pool, merchant="acme", since=since, flow="orders", channel=None)
        world.ctx.cursors.forget()  # the announcement arrives at once

    shop.during_read = rewind
    await _cycle(world)
    assert await world.pool.fetchval("SELECT position FROM cursors WHERE flow = 'orders'") <= since
    before = len(shop.windows)
    await _cycle(world)
    assert shop.windows[before].start <= since
