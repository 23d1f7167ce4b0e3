"""When a shop's stock is compared: after something its targets depend on changed, not every minute.

A shop's targets (``daemon.engine.reservations``) depend on FFN's levels, the merchant's open orders and
the channel's ``stock_buffer``. All of them are written by the jobs of the one process that holds the
merchant's lease, and a config reload builds a new ``StockChanges``. So a cycle of a flow that feeds the
formula (``Flow.moves_stock``) announces itself here when it stored or changed anything or failed
(``watch``), and every shop's stock job of the merchant runs at once (``trigger``: the scheduler's,
coalesced with a run under way). An idle merchant's shops are not compared at all between the scheduled
runs of their stock jobs, which come every ``[channels.intervals] stock`` (default 900 s): the safety
comparison for changes made outside this process (a row edited by hand, a tool writing to the database).

A shop is also compared
- at the merchant's first cycle end after start, a reload or a take-over (every shop is due from then:
  the previous holder or a tool may have changed anything), so the first comparison comes within about
  one interval of the merchant's other jobs, spread as they are;
- ``RETRY_S`` after a comparison that did not finish cleanly (the shop down, SKUs refused, its orders not
  re-read): what the 60 s stock interval did before;
- after ``HANDOVER_S`` past a cycle that exported orders: an exported order stops reserving then unless
  FFN's stock showed it earlier (``daemon.store.stock``), with nobody writing anything;
- while a long cycle keeps storing (a catch-up of thousands of orders): its progress is announced at most
  every ``WATCH_S``, so the shops follow the backlog as it is read, not only at its end.
These are looked at whenever any job of the merchant ends (``look``): nothing runs on a timer of its own.

A triggered comparison leaves ``MIN_GAP_S`` after the previous one of its shop began: a busy shop is
compared a few times a minute (each comparison is one query over the open orders, and a write), not
after every order.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from daemon.clock import Clock
from daemon.store.stock import HANDOVER_S

if TYPE_CHECKING:  # the context holds this, and flows import the context
    from daemon.engine.flow import CycleCounts

RETRY_S = 60.0
MIN_GAP_S = 5.0
WATCH_S = 30.0
LAPSE_GRAIN_S = 10.0  # lapses of exported orders' reservations are looked at in steps of this


@dataclass(slots=True)
class _Due:
    at: float  # monotonic: from when the shop should be compared (the next look triggers it)
    generation: int  # of the announcement that made it due


@dataclass(slots=True)
class _Watched:
    counts: CycleCounts  # of a cycle under way
    seen: int = 0  # its activity at the last look


class StockChanges:
    """Per merchant: which shops must compare their stock, and the trigger that runs their jobs."""

    def __init__(self, channels: Iterable[str], clock: Clock) -> None:
        self._clock = clock
        self.channels = tuple(channels)
        # channel -> run its stock job now (True: it runs, or runs once more after the run under way);
        # None (``once``, tests driving flows): announcements only mark the shops due.
        self.trigger: Callable[[str], bool] | None = None
        self._generation = 0
        self._due: dict[str, _Due] = {name: _Due(0.0, 0) for name in self.channels}
        self._triggered: set[str] = set()  # the job's next run is ours, not a scheduled (safety) one
        self._comparing: set[str] = set()
        self._began: dict[str, float] = {}  # monotonic start of each shop's last comparison
        # Shops whose last comparison failed: not triggered again before this (monotonic), however many
        # announcements come; otherwise a shop down for seconds fails every MIN_GAP_S into its backoff.
        self._troubled_until: dict[str, float] = {}
        self._lapses: deque[float] = deque()  # monotonic times exported orders stop reserving, ascending
        self._running: dict[int, _Watched] = {}  # cycles under way of flows that feed the formula
        self._watched_at = -math.inf

    # -- writers -----------------------------------------------------------------------------------

    def announce(self, *, but: str | None = None) -> None:
        """Something a shop's targets depend on changed: every shop (but ``but``, which saw it itself)
        compares now."""
        self._generation += 1
        now = self._clock.monotonic()
        for name in self.channels:
            if name != but:
                at = max(now, self._troubled_until.get(name, now))
                self._due[name] = _Due(at, self._generation)
                if at <= now:
                    self._fire(name, now)

    async def watch(self, body: Callable[[CycleCounts], Awaitable[None]], counts: CycleCounts) -> None:
        """Run one cycle of a flow that feeds the formula; announce when it wrote anything (``_activity``)
        or failed (its writes may have landed before the failure)."""
        key = id(counts)
        self._running[key] = _Watched(counts)
        ok = False
        try:
            await body(counts)
            ok = True
        finally:
            del self._running[key]
            if not ok or _activity(counts):
                # Any write may (re)start an order's reservation hand-over (a skipped update resets it
                # too); grained, so cheap.
                self._expect_lapse()
                self.announce()

    def look(self) -> None:
        """A job of the merchant ended: start what became due meanwhile (see the module)."""
        if not (self._due or self._lapses or self._running):
            return  # an idle merchant: nothing to do
        now = self._clock.monotonic()
        if self._lapses and self._lapses[0] <= now:
            while self._lapses and self._lapses[0] <= now:
                self._lapses.popleft()
            self.announce()
        if self._running and now - self._watched_at >= WATCH_S:
            self._watched_at = now
            grew = False
            for watched in self._running.values():
                activity = _activity(watched.counts)
                if activity != watched.seen:
                    watched.seen = activity
                    grew = True
            if grew:
                self.announce()
        for name, due in list(self._due.items()):
            if due.at <= now and name not in self._comparing:
                self._fire(name, now)

    # -- the shop's stock job ----------------------------------------------------------------------

    async def begin(self, channel: str) -> int | None:
        """Before a comparison of ``channel``: the generation it covers, or None when this run was
        triggered and nothing changed since (the announcement it answers was covered by a comparison
        already). A triggered run first waits out ``MIN_GAP_S`` since the shop's previous comparison began;
        a scheduled run (the safety comparison) always compares."""
        if channel in self._triggered:
            self._triggered.discard(channel)
            due = self._due.get(channel)
            if due is None:
                return None
            troubled_until = self._troubled_until.get(channel, -math.inf)
            if troubled_until > self._clock.monotonic():
                due.at = max(due.at, troubled_until)  # the next look after it fires the job again
                return None
            wait = self._began.get(channel, -math.inf) + MIN_GAP_S - self._clock.monotonic()
            if wait > 0:
                await self._clock.sleep(wait)  # announcements meanwhile are this comparison's too
        self._comparing.add(channel)
        self._began[channel] = self._clock.monotonic()
        return self._generation

    def end(self, channel: str, generation: int, *, clean: bool) -> None:
        """After a comparison that began at ``generation``: settled when ``clean`` and nothing changed
        since; otherwise due again (at once after a change, ``RETRY_S`` later after trouble)."""
        self._comparing.discard(channel)
        retry_at = self._clock.monotonic() + RETRY_S
        if clean:
            self._troubled_until.pop(channel, None)
        else:
            self._troubled_until[channel] = retry_at
        due = self._due.get(channel)
        if due is not None and due.generation > generation:
            return  # announced meanwhile: its trigger runs the job again (after RETRY_S if it failed)
        if clean:
            self._due.pop(channel, None)
        else:
            self._due[channel] = _Due(retry_at, generation)

    def due(self, channel: str) -> bool:
        return channel in self._due

    # -- inside ------------------------------------------------------------------------------------

    def _fire(self, name: str, now: float) -> None:
        if self.trigger is None:
            return
        self._triggered.add(name)
        if self.trigger(name):
            # Running (or to run once more): the next looks leave it alone for a while.
            self._due[name].at = now + RETRY_S
        else:
            self._triggered.discard(name)  # no run (stopping, or the jobs being swapped): a later look

    def _expect_lapse(self) -> None:
        # In steps of LAPSE_GRAIN_S (rounded up: never before the lapse), so a busy merchant keeps a
        # few dozen entries, not one per export.
        at = math.ceil((self._clock.monotonic() + HANDOVER_S + 1) / LAPSE_GRAIN_S) * LAPSE_GRAIN_S
        if not self._lapses or self._lapses[-1] < at:
            self._lapses.append(at)


def _activity(counts: CycleCounts) -> int:
    """Rows a cycle wrote: stored or changed, and outcomes that move an order's state. Records read again
    unchanged (every window overlaps the last) and retries later (the state stays) are not changes."""
    return counts.changed + counts.pushed + counts.skipped + counts.failed
