"""The delta windows one cycle of a flow reads, shared by every cursor-driven flow."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from daemon.engine.context import MerchantContext
from daemon.engine.cursors import fresh_window, next_window
from daemon.engine.flow import CycleCounts
from daemon.engine.settings import CursorSettings
from daemon.model import Window
from daemon.ports import OrderVersions

ORDERS_FLOW = "orders"  # flows.orders.ORDERS (which imports this module)
# A triggered run lists a window below the lag that triggered reads covered only once it is this long (the
# poll lists it anyway): each listing costs 2 points besides 1 per order, and its orders were read as they
# came; what it is for (a record committed late inside what was read) is found by then.
LIST_COVERED_AFTER_S = 30.0


@dataclass(frozen=True, slots=True)
class FreshWindow(Window):
    """A nudged run's window: it reads up to now, but the cursor moves only to ``settled`` (where a poll's
    window would have ended, ``now − lag``; None: it stays), so a record committed late below the lag is
    still read by a later run."""

    settled: datetime | None = None


@dataclass(frozen=True, slots=True)
class CoveredWindow(FreshWindow):
    """A window that webhook-triggered reads already read: most of its records are stored, so a reader may
    list what changed and read in full only what is missing (daemon/engine/rereads.py). Either a due
    window below the lag (``settled`` is its end) or the second a triggered read ended in, read again by
    the next one for what was committed in it after that read (``settled`` None: the cursor stays)."""


def cursor_end(window: Window) -> datetime | None:
    """Where the cursor may move once the window's records are stored (None: nowhere)."""
    return window.settled if isinstance(window, FreshWindow) else window.end


async def due_windows(
    ctx: MerchantContext,
    channel: str,
    flow: str,
    settings: CursorSettings,
    counts: CycleCounts,
    *,
    whole_after_s: float | None = None,
) -> AsyncIterator[Window]:
    """Windows up to where this cycle began, oldest first; when a webhook nudged this flow, also up to now
    (a ``FreshWindow``), in one read with the last due window where they meet. A due range longer than
    ``whole_after_s`` is one window (its reader takes a large catch-up in one go).

    The caller stores each window's records and moves the cursor to ``cursor_end(window)`` in the same
    transaction before asking for the next one; the cursor lag is reported after each window.
    """
    # Taken before reading: a delivery that arrives while this run reads nudges the next run.
    nudged = await ctx.nudges.take(channel, flow)
    triggered = nudged
    # Where the orders reader lists versions (daemon/engine/rereads.py); elsewhere one read is cheaper.
    lists = flow == ORDERS_FLOW and isinstance(ctx.channels.get(channel), OrderVersions)
    covered_until = ctx.nudges.read_until(channel, flow)
    read_until = covered_until if nudged else None
    stored = await ctx.cursors.get(channel, flow)
    ctx.quiet.cursor_read(channel, flow, stored)
    position = read_position(ctx, channel, flow, stored)
    now = ctx.clock.now()  # fixed for the cycle: the catch-up ends where this cycle began
    overlap = ctx.overlaps.overlap_s(channel, flow, now, settings)
    span = due_span(position, now, settings, overlap)
    if whole_after_s is not None and span > whole_after_s:
        settings = replace(settings, max_window_s=span)
    fresh_from: datetime | None = None  # where this run's read past the lag began (None: no such read)
    changed_before = counts.changed
    while (window := next_window(position, now, settings, overlap_s=overlap)) is not None:
        if position is not None and window.end <= position:
            break
        following = next_window(window.end, now, settings, overlap_s=overlap)
        last = following is None or following.end <= window.end
        if nudged and last and (read_until is None or read_until <= window.end):
            # Nothing read past the lag since this window's end: one read up to now.
            nudged = False
            window = FreshWindow(window.start, _fresh_end(ctx), window.end)
            ctx.nudges.note_read(channel, flow, window.end)
            fresh_from = window.settled
        elif covered_until is not None and window.end <= covered_until:
            if triggered and lists and (window.end - window.start).total_seconds() < LIST_COVERED_AFTER_S:
                break  # listed by a later run (see LIST_COVERED_AFTER_S)
            window = CoveredWindow(window.start, window.end, window.end)
        yield window
        if (
            isinstance(window, CoveredWindow)
            and (now_stored := await ctx.cursors.get(channel, flow)) == stored
        ):
            # Listed and every record stored: the pull may leave the cursor where it was; the next
            # window starts here all the same (listing it again each run grew with every nudged read).
            ctx.nudges.note_listed(channel, flow, now_stored, window.end)
        position = cursor_end(window) or window.end
        counts.lag_s = (ctx.clock.now() - position).total_seconds()
        ctx.observer.cursor_lag(ctx.merchant_id, channel, flow, counts.lag_s)
    if nudged and position is not None:
        # Only what is new since the last read past the lag (or the lag left nothing due).
        fresh = fresh_window(max(position, read_until or position), ctx.clock.now())
        ctx.nudges.note_read(channel, flow, fresh.end)
        if lists and read_until is not None and fresh.start < read_until < fresh.end:
            # The second the last triggered read ended in holds mostly what it read: listed, not re-read.
            yield CoveredWindow(fresh.start, read_until, None)
            fresh = Window(read_until, fresh.end)
        fresh_from = fresh.start
        yield FreshWindow(fresh.start, fresh.end, None)
    if fresh_from is not None and counts.changed == changed_before:
        # A delivery announced a new order and the read found nothing new: the shop's search may lag.
        wait = ctx.nudges.recheck_s(channel, flow)
        if wait > 0:
            await ctx.nudges.wait_recheck(channel, flow, wait, ctx.clock)
            again = FreshWindow(fresh_from, _fresh_end(ctx), None)
            ctx.nudges.note_read(channel, flow, again.end)
            yield again


def read_position(ctx: MerchantContext, channel: str, flow: str, stored: datetime | None) -> datetime | None:
    """Where the flow's next window starts from: the stored cursor, or past it as far as windows below
    the lag have been listed since without moving it (``CoveredWindow``; those windows settled before
    they were listed, as a poll's window, so what a listing found stored is read: nothing lies behind)."""
    listed = ctx.nudges.listed_until(channel, flow, stored)
    if stored is None or listed is None or listed <= stored:
        return stored
    return listed


def due_span(position: datetime | None, now: datetime, settings: CursorSettings, overlap_s: float) -> float:
    """Seconds from where the next window starts to where this cycle's reading ends (0: nothing due)."""
    first = next_window(position, now, settings, overlap_s=overlap_s)
    if first is None:
        return 0.0
    end = (now - timedelta(seconds=settings.lag_s)).replace(microsecond=0)
    return (end - first.start).total_seconds()


def _fresh_end(ctx: MerchantContext) -> datetime:
    now = ctx.clock.now()
    return fresh_window(now, now).end
