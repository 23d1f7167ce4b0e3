"""Nudges: a shop webhook said a channel's orders (or products) changed; the flow's next run reads up to now.

The cursor keeps its lag (late commits below it are still read by a later run); the nudged run only reads
past it once, without moving the cursor, so an order placed a second ago reaches FFN in this run instead of
one interval later. A nudge is a hint: losing one (a restart) costs nothing but that interval.

Nudged runs pace themselves: a run taking a nudge first waits until ``min_gap_s`` (or longer, when the
channel says its API budget needs it: ``ReadPacing``) has passed since the previous nudged read of the
flow. A burst of deliveries therefore coalesces: the scheduler runs a busy job at most once more, and
every delivery that arrives while a run waits is served by that run. The wait is the latency a burst
trades for a handful of reads instead of one per delivery.

A shop whose order search lags behind its writes (Shopify: ``orders(query:)`` runs against a search
index) may not show an order announced as new yet. When a nudge announced a new record and the nudged read
stored nothing new, that run reads once more ``SearchLag.search_recheck_s()`` later, or as soon as another
delivery asks for a read of the flow (that read is due anyway and looks again at the same range: waiting out
the recheck would hold the flow and delay every order delivered meanwhile); should the index lag longer
still, the next poll finds the order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Protocol, runtime_checkable

from daemon.clock import SYSTEM_CLOCK, Clock

# (channel, flow, seconds from the first nudge to the run that took it)
DelayObserver = Callable[[str, str, float], None]
# A burst of deliveries: about one read per second per flow (each read also looks at its last second again).
MIN_GAP_S = 1.0
# A triggered read never waits longer than this for the budget: the next poll would come soon anyway, and
# the waiting run holds the flow (its scheduled runs skip while it waits).
MAX_GAP_S = 10.0


@runtime_checkable
class ReadPacing(Protocol):
    """Optional for a shop channel with a budget to keep (Shopify's cost bucket)."""

    def read_gap_s(self) -> float:
        """Seconds a triggered read should leave after the previous one so that triggered reads stay
        within the share of the shop's API budget they may use (0: no limit beyond the minimum gap)."""
        ...


@runtime_checkable
class SearchLag(Protocol):
    """Optional for a shop channel whose delta reads go through a search index that may lag its writes."""

    def search_recheck_s(self) -> float:
        """Seconds after a nudged read that missed an order announced as new to look once more (0: never)."""
        ...


class Nudges:
    def __init__(
        self,
        *,
        clock: Clock = SYSTEM_CLOCK,
        on_taken: DelayObserver | None = None,
        min_gap_s: float = MIN_GAP_S,
        pacing: Callable[[str], ReadPacing | None] | None = None,
        search_lag: Callable[[str], SearchLag | None] | None = None,
    ) -> None:
        self.clock = clock
        self.on_taken = on_taken
        self.min_gap_s = min_gap_s
        self.pacing = pacing  # the channel's pacing by name (None: the minimum gap only)
        self.search_lag = search_lag  # the channel's search lag by name (None: its reads never lag)
        self._since: dict[tuple[str, str], datetime] = {}
        self._new_announced: set[tuple[str, str]] = set()  # requests of the pending burst named a new record
        self._taken_new: set[tuple[str, str]] = set()  # ... of the burst the running read took
        self._read_until: dict[tuple[str, str], datetime] = {}
        self._listed: dict[tuple[str, str], tuple[datetime | None, datetime]] = {}
        self._taken_at: dict[tuple[str, str], float] = {}  # monotonic time of the last nudged read
        self._rechecking: dict[tuple[str, str], asyncio.Event] = {}  # set by the next request

    def request(self, channel: str, flow: str, *, new_record: bool = False) -> None:
        """Ask the next run of ``flow`` on ``channel`` to read up to now (the first request's time counts).
        ``new_record``: the delivery announced a record just created (which a lagging search may miss)."""
        self._since.setdefault((channel, flow), self.clock.now())
        if new_record:
            self._new_announced.add((channel, flow))
        if (waiting := self._rechecking.get((channel, flow))) is not None:
            waiting.set()

    async def take(self, channel: str, flow: str) -> bool:
        """True once per burst of requests: this run reads up to now, after waiting out the gap since the
        previous nudged read. Requests that arrive while it waits are its own; later ones wait for the
        next run."""
        key = (channel, flow)
        if key not in self._since:
            return False
        wait = self.wait_s(channel, flow)
        if wait > 0:
            await self.clock.sleep(wait)
        since = self._since.pop(key, None)
        if since is None:  # another run of the flow took it meanwhile
            return False
        if key in self._new_announced:
            self._new_announced.discard(key)
            self._taken_new.add(key)
        else:
            self._taken_new.discard(key)
        self._taken_at[key] = self.clock.monotonic()
        if self.on_taken is not None:
            self.on_taken(channel, flow, max(0.0, (self.clock.now() - since).total_seconds()))
        return True

    def wait_s(self, channel: str, flow: str) -> float:
        """How long a nudged read of the flow must still wait (0: it may read now)."""
        last = self._taken_at.get((channel, flow))
        if last is None:
            return 0.0
        pacing = self.pacing(channel) if self.pacing is not None else None
        gap = min(MAX_GAP_S, max(self.min_gap_s, pacing.read_gap_s() if pacing is not None else 0.0))
        return max(0.0, last + gap - self.clock.monotonic())

    def recheck_s(self, channel: str, flow: str) -> float:
        """After the read that took a nudge stored nothing new: seconds to wait before reading once more
        (0: no second read, because no delivery announced a new record or the channel's search never lags).
        Asked once per taken nudge."""
        key = (channel, flow)
        if key not in self._taken_new:
            return 0.0
        self._taken_new.discard(key)
        lagging = self.search_lag(channel) if self.search_lag is not None else None
        return min(MAX_GAP_S, lagging.search_recheck_s()) if lagging is not None else 0.0

    async def wait_recheck(self, channel: str, flow: str, seconds: float, clock: Clock) -> None:
        """Wait ``seconds`` on the cycle's ``clock`` before the second look, or until another delivery asks
        for a read of the flow."""
        requested = asyncio.Event()
        self._rechecking[(channel, flow)] = requested
        waits = {asyncio.ensure_future(clock.sleep(seconds)), asyncio.ensure_future(requested.wait())}
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
            self._rechecking.pop((channel, flow), None)

    def hand_over(self, channel: str, flow: str) -> bool | None:
        """Take the pending nudge away to hand it to the instance that owns the merchant: None when there
        is none, else whether it announced a new record."""
        key = (channel, flow)
        if self._since.pop(key, None) is None:
            return None
        new_record = key in self._new_announced
        self._new_announced.discard(key)
        return new_record

    def pending(self, channel: str, flow: str) -> bool:
        return (channel, flow) in self._since

    def read_until(self, channel: str, flow: str) -> datetime | None:
        """Where the last nudged read past the lag ended: the next one starts there, not at the cursor
        (what lies between is read again by the runs that move the cursor over it)."""
        return self._read_until.get((channel, flow))

    def note_read(self, channel: str, flow: str, end: datetime) -> None:
        self._read_until[(channel, flow)] = end

    def listed_until(self, channel: str, flow: str, stored: datetime | None) -> datetime | None:
        """Where the last window below the lag that triggered reads had covered was listed to, while the
        stored cursor still stands where it stood then (a listing that found everything stored is an
        empty window to the pull, which may leave the cursor in place: ``daemon.engine.quiet``)."""
        noted = self._listed.get((channel, flow))
        return noted[1] if noted is not None and noted[0] == stored else None

    def note_listed(self, channel: str, flow: str, stored: datetime | None, end: datetime) -> None:
        self._listed[(channel, flow)] = (stored, end)

    def forget_listed(self) -> None:
        """A cursor was rewound (``ffn-sync resync``): the next windows start from the stored cursors."""
        self._listed.clear()
