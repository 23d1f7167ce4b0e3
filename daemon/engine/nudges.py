"""Nudges: a shop webhook said a channel's orders (or products) changed; the flow's next run reads up to now.

The cursor keeps its lag (late commits below it are still read by a later run); the nudged run only reads
past it once, without moving the cursor, so an order placed a second ago reaches FFN in this run instead of
one interval later. A nudge is a hint: losing one (a restart) costs nothing but that interval.

Nudged runs pace themselves: a run taking a nudge first waits until ``min_gap_s`` (or longer, when the
channel says its API budget needs it: ``ReadPacing``) has passed since the previous nudged read of the
flow. A burst of deliveries therefore coalesces: the scheduler runs a busy job at most once more, and
every delivery that arrives while a run waits is served by that run. The wait is the latency a burst
trades for a handful of reads instead of one per delivery.
"""

from __future__ import annotations

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


class Nudges:
    def __init__(
        self,
        *,
        clock: Clock = SYSTEM_CLOCK,
        on_taken: DelayObserver | None = None,
        min_gap_s: float = MIN_GAP_S,
        pacing: Callable[[str], ReadPacing | None] | None = None,
    ) -> None:
        self.clock = clock
        self.on_taken = on_taken
        self.min_gap_s = min_gap_s
        self.pacing = pacing  # the channel's pacing by name (None: the minimum gap only)
        self._since: dict[tuple[str, str], datetime] = {}
        self._read_until: dict[tuple[str, str], datetime] = {}
        self._taken_at: dict[tuple[str, str], float] = {}  # monotonic time of the last nudged read

    def request(self, channel: str, flow: str) -> None:
        """Ask the next run of ``flow`` on ``channel`` to read up to now (the first request's time counts)."""
        self._since.setdefault((channel, flow), self.clock.now())

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

    def pending(self, channel: str, flow: str) -> bool:
        return (channel, flow) in self._since

    def read_until(self, channel: str, flow: str) -> datetime | None:
        """Where the last nudged read past the lag ended: the next one starts there, not at the cursor
        (what lies between is read again by the runs that move the cursor over it)."""
        return self._read_until.get((channel, flow))

    def note_read(self, channel: str, flow: str, end: datetime) -> None:
        self._read_until[(channel, flow)] = end
