"""Delta cursors: window = [cursor − overlap, now − lag]; moved only with the window's rows queued."""

from __future__ import annotations

from datetime import datetime, timedelta

from daemon.engine.settings import CursorSettings
from daemon.model import Window

TAIL_OVERLAP_S = 1.0  # the cursor's own second, re-read every cycle (APIs filter to the second)


def next_window(
    position: datetime | None, now: datetime, settings: CursorSettings, *, overlap_s: float | None = None
) -> Window | None:
    """The window to pull, or None when the lag leaves nothing new to read yet."""
    # Shop APIs filter dates to the second: a window ending mid-second would be read as ending at the
    # second's start, so the window says so itself and the next one starts from there.
    end = (now - timedelta(seconds=settings.lag_s)).replace(microsecond=0)
    if position is None:
        start = end - timedelta(seconds=settings.first_window_s)
    else:
        start = position - timedelta(seconds=settings.overlap_s if overlap_s is None else overlap_s)
    if start >= end:
        return None
    end = min(end, start + timedelta(seconds=max(settings.max_window_s, settings.overlap_s + 1)))
    return Window(start=start, end=end)


def fresh_window(position: datetime, now: datetime) -> Window:
    """What a nudged run reads past the lag: from the cursor's own second to the end of now's second.

    The cursor never moves to its end (the lag still guards against late commits): the next run reads this
    range again, which costs nothing for unchanged records.
    """
    end = now.replace(microsecond=0) + timedelta(seconds=1)
    return Window(
        start=min(position - timedelta(seconds=TAIL_OVERLAP_S), end - timedelta(seconds=1)), end=end
    )


class OverlapSchedule:
    """When to re-read the full overlap: once per ``overlap_s`` (and first thing after a start).

    The lag already keeps late commits out of a window's reach; the overlap is the safety net for what
    the lag cannot see (clock skew, slow replicas). Re-reading it on every cycle is what made a busy
    Shopify shop spend its whole cost budget on orders it already had, so the other cycles re-read only
    the cursor's own second.
    """

    def __init__(self) -> None:
        self._last: dict[tuple[str, str], datetime] = {}

    def overlap_s(self, channel: str, flow: str, now: datetime, settings: CursorSettings) -> float:
        last = self._last.get((channel, flow))
        if last is None or (now - last).total_seconds() >= settings.overlap_s:
            self._last[(channel, flow)] = now
            return settings.overlap_s
        return min(TAIL_OVERLAP_S, settings.overlap_s)
