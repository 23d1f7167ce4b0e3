"""The delta windows one cycle of a flow reads, shared by every cursor-driven flow."""

from __future__ import annotations

from collections.abc import AsyncIterator

from daemon.engine.context import MerchantContext
from daemon.engine.cursors import fresh_window, next_window
from daemon.engine.cycle import CycleCounts
from daemon.engine.settings import CursorSettings
from daemon.model import Window


class FreshWindow(Window):
    """The last window of a nudged run: read up to now, but the cursor does not move to its end."""

    __slots__ = ()


async def due_windows(
    ctx: MerchantContext, channel: str, flow: str, settings: CursorSettings, counts: CycleCounts
) -> AsyncIterator[Window]:
    """Windows up to where this cycle began, oldest first; after them, when a webhook nudged this flow,
    one ``FreshWindow`` up to now.

    The caller stores each window's records and moves the cursor to ``window.end`` in the same
    transaction before asking for the next one (except for a ``FreshWindow``); the cursor lag is
    reported after each window.
    """
    # Taken before reading: a delivery that arrives while this run reads nudges the next run.
    nudged = ctx.nudges.take(channel, flow)
    position = await ctx.cursors.get(channel, flow)
    now = ctx.clock.now()  # fixed for the cycle: the catch-up ends where this cycle began
    overlap = ctx.overlaps.overlap_s(channel, flow, now, settings)
    while (window := next_window(position, now, settings, overlap_s=overlap)) is not None:
        if position is not None and window.end <= position:
            break
        yield window
        counts.lag_s = (ctx.clock.now() - window.end).total_seconds()
        ctx.observer.cursor_lag(ctx.merchant_id, channel, flow, counts.lag_s)
        position = window.end
    if nudged and position is not None:
        fresh = fresh_window(position, ctx.clock.now())
        yield FreshWindow(start=fresh.start, end=fresh.end)
