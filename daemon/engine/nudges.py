"""Nudges: a shop webhook said a channel's orders (or products) changed; the flow's next run reads up to now.

The cursor keeps its lag (late commits below it are still read by a later run); the nudged run only reads
past it once, without moving the cursor, so an order placed a second ago reaches FFN in this run instead of
one interval later. A nudge is a hint: losing one (a restart) costs nothing but that interval.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from daemon.clock import SYSTEM_CLOCK, Clock

# (channel, flow, seconds from the first nudge to the run that took it)
DelayObserver = Callable[[str, str, float], None]


class Nudges:
    def __init__(self, *, clock: Clock = SYSTEM_CLOCK, on_taken: DelayObserver | None = None) -> None:
        self.clock = clock
        self.on_taken = on_taken
        self._since: dict[tuple[str, str], datetime] = {}
        self._read_until: dict[tuple[str, str], datetime] = {}

    def request(self, channel: str, flow: str) -> None:
        """Ask the next run of ``flow`` on ``channel`` to read up to now (the first request's time counts)."""
        self._since.setdefault((channel, flow), self.clock.now())

    def take(self, channel: str, flow: str) -> bool:
        """True once per burst of requests: this run reads up to now. Requests after it wait for the next."""
        since = self._since.pop((channel, flow), None)
        if since is None:
            return False
        if self.on_taken is not None:
            self.on_taken(channel, flow, max(0.0, (self.clock.now() - since).total_seconds()))
        return True

    def pending(self, channel: str, flow: str) -> bool:
        return (channel, flow) in self._since

    def read_until(self, channel: str, flow: str) -> datetime | None:
        """Where the last nudged read past the lag ended: the next one starts there, not at the cursor
        (what lies between is read again by the runs that move the cursor over it)."""
        return self._read_until.get((channel, flow))

    def note_read(self, channel: str, flow: str, end: datetime) -> None:
        self._read_until[(channel, flow)] = end
