"""The delta windows one cycle of a flow reads, shared by every cursor-driven flow."""

from __future__ import annotations

from collections.abc import AsyncIterator

from daemon.engine.context import MerchantContext
from daemon.engine.cursors import next_window
from daemon.engine.cycle import CycleCounts
from daemon.engine.settings import CursorSettings
from daemon.model import Window


async def due_windows(
    ctx: MerchantContext, channel: str, flow: str, settings: CursorSettings, counts: CycleCounts
) -> AsyncIterator[Window]:
    """Windows up to where this cycle began, oldest first.

    The caller stores each window's records and moves the cursor to ``window.end`` in the same
    transaction before asking for the next one (or leaves it where it is after an empty window while
    ``ctx.quiet`` allows); the cursor lag is reported after each window.
    """
    position = await ctx.cursors.get(channel, flow)
    ctx.quiet.cursor_read(channel, flow, position)
    now = ctx.clock.now()  # fixed for the cycle: the catch-up ends where this cycle began
    overlap = ctx.overlaps.overlap_s(channel, flow, now, settings)
    while (window := next_window(position, now, settings, overlap_s=overlap)) is not None:
        if position is not None and window.end <= position:
            return
        yield window
        counts.lag_s = (ctx.clock.now() - window.end).total_seconds()
        ctx.observer.cursor_lag(ctx.merchant_id, channel, flow, counts.lag_s)
        position = window.end
