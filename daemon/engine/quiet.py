"""What an empty cycle may leave unwritten.

An idle fleet polls ~100 times a second; each poll used to move its cursor and rewrite its health row
although nothing had happened. Both writes are now skipped while they would only restate what
Postgres already holds, within two bounds that keep the readers of those rows right:

- a cursor that an empty window would move stays put until it is ``CURSOR_REST_S`` (or its
  ``overlap_s``, if longer) behind: the next window then simply starts earlier, and re-reading an
  empty stretch costs one request that returns nothing. It never comes near ``max_window_s``. The
  stored position (``ffn-sync status``, "cursor lag") may therefore trail by up to that much on an
  idle flow; the ``cursor_lag`` metric reports the window actually read;
- a health row whose outcome is unchanged (success, no counts, no error, same interval) is rewritten
  only once its ``last_success_at`` is ``HEALTH_REFRESH_INTERVALS`` intervals old: every other cycle.
  The next cycle comes one interval later plus the scheduler's jitter (up to 10 %) plus its own
  lateness, so the stored success is at most ~2.6 intervals old and the stall rule (no success within
  ``STALL_INTERVALS`` = 3 intervals, ``daemon.engine.reports``) never fires on a quiet flow (at 2
  intervals it did: the cycle after a 1.9-interval-old row saw it 2.9 intervals old, the watcher first).
  Any failure, any count and any change of interval is written at once.

The memory is per process and per merchant context: a new process (or a reload) writes once, then
goes quiet again. Another process rewinding a cursor (``ffn-sync resync``) moves it back, which only
makes the next window larger, so a stale memory of a position is never unsafe.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from daemon.engine.settings import CursorSettings

CURSOR_REST_S = 600.0
# Plus one interval, its jitter and a late cycle below STALL_INTERVALS (tests/daemon/engine/test_quiet.py).
# reports.py imports the flows, which import the context, which imports this: no import back.
HEALTH_REFRESH_INTERVALS = 1.5


class QuietWrites:
    def __init__(self) -> None:
        self._cursors: dict[tuple[str, str], datetime] = {}
        self._health: dict[tuple[str, str], tuple[float, datetime]] = {}

    # Cursors -------------------------------------------------------------------------------------

    def cursor_read(self, channel: str, flow: str, position: datetime | None) -> None:
        if position is None:
            self._cursors.pop((channel, flow), None)
        else:
            self._cursors[(channel, flow)] = position

    def cursor_may_stay(
        self, channel: str, flow: str, end: datetime, settings: CursorSettings, *, listed: bool = False
    ) -> bool:
        """True when an empty window ending at ``end`` need not move the stored cursor.

        A ``listed`` window (what webhook-triggered reads had read, listed and found stored) may leave it
        only within one overlap: the next window starts where the listings ended (``windows.read_position``,
        in memory), and its overlap must still reach back to the stored cursor, or the cursor could no
        longer move (a window starting past it reads as rewound) and a ``resync`` to a point between the
        two would go unread."""
        stored = self._cursors.get((channel, flow))
        if listed:
            rest = settings.overlap_s
        else:
            rest = min(max(CURSOR_REST_S, settings.overlap_s), settings.max_window_s / 2)
        return stored is not None and end - stored < timedelta(seconds=rest)

    def cursor_moved(self, channel: str, flow: str, position: datetime) -> None:
        self._cursors[(channel, flow)] = position

    # Health --------------------------------------------------------------------------------------

    def health_may_skip(self, channel: str, flow: str, interval_s: float, now: datetime, quiet: bool) -> bool:
        """True when a cycle's health row would only restate an unchanged, recent success."""
        if not quiet:
            self._health.pop((channel, flow), None)
            return False
        written = self._health.get((channel, flow))
        if written is None or written[0] != interval_s:
            return False
        return now - written[1] < timedelta(seconds=HEALTH_REFRESH_INTERVALS * interval_s)

    def health_written(self, channel: str, flow: str, interval_s: float, now: datetime, quiet: bool) -> None:
        if quiet:
            self._health[(channel, flow)] = (interval_s, now)

    def health_lost(self, channel: str, flow: str) -> None:
        """A quiet row queued for writing was not written: the next cycle writes it."""
        self._health.pop((channel, flow), None)
