"""Take-overs: when this process took each merchant it holds, and a prompt first run after a take-over.

``TakeOvers`` is one per process (``ffn-sync run`` binds one to its runtime factory): a reload builds a new
``Ownership`` that takes the same merchants back a moment later, and those must keep the time the process
first took them (the stall grace of ``Ownership.owned_since`` starts at a take-over, not at a reload).

``PromptRuns``: a merchant taken from another instance (killed, frozen, handing over) would otherwise wait
for its flows' next point on their grid, up to a whole interval; its orders flow runs at once instead, the
take-overs of one renewal spread over a share of the lease timeout so a hundred merchants taken together
do not start a hundred cycles in the same second.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from datetime import datetime

from loguru import logger

from daemon.clock import Clock

# The take-overs of one renewal start within this share of the lease timeout (a lease timeout is half the
# shortest flow interval, so at most a quarter interval).
PROMPT_SPREAD_SHARE = 0.5


class TakeOvers:
    """merchant -> (when this process took it, when an Ownership closing for a reload let go of it). A
    merchant lost or handed over is forgotten: a later take-over is a new one."""

    def __init__(self) -> None:
        self._held: dict[str, tuple[datetime, datetime | None]] = {}

    def since(self, merchant_id: str, default: datetime) -> datetime:
        entry = self._held.get(merchant_id)
        return default if entry is None else entry[0]

    def note(
        self, gained: Iterable[str], lost: Iterable[str], now: datetime, reload_grace_s: float
    ) -> list[str]:
        """Record what a renewal gained and lost; return the gained merchants that are real take-overs
        (not taken back within ``reload_grace_s`` of this process letting go of them for a reload)."""
        for merchant_id in lost:
            self._held.pop(merchant_id, None)
        taken: list[str] = []
        for merchant_id in gained:
            since, let_go = self._held.get(merchant_id, (now, None))
            retaken = let_go is not None and (now - let_go).total_seconds() <= reload_grace_s
            if not retaken:
                since = now
                taken.append(merchant_id)
            self._held[merchant_id] = (since, None)
        return taken

    def let_go(self, merchant_ids: Iterable[str], now: datetime) -> None:
        """An Ownership closes (a reload or the end): the next one may take these back as its own."""
        for merchant_id in merchant_ids:
            if merchant_id in self._held:
                self._held[merchant_id] = (self._held[merchant_id][0], now)


class PromptRuns:
    """Starts ``run(merchant)`` for taken-over merchants, spread over ``window_s`` (see the module)."""

    def __init__(self, clock: Clock, window_s: float) -> None:
        self._clock = clock
        self._window_s = window_s
        self.run: Callable[[str], None] | None = None  # set by the runtime once its jobs are scheduled
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, merchant_ids: list[str]) -> None:
        if self.run is None or not merchant_ids:
            return
        task = asyncio.create_task(self._spread(self.run, merchant_ids), name="take-over runs")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _spread(self, run: Callable[[str], None], merchant_ids: list[str]) -> None:
        gap = self._window_s / len(merchant_ids)
        for number, merchant_id in enumerate(merchant_ids):
            if number:
                await self._clock.sleep(gap)
            try:
                run(merchant_id)
            except Exception as exc:  # the next point on its grid runs it anyway
                logger.warning(
                    "could not start merchant {}'s flows after the take-over: {}", merchant_id, exc
                )

    async def aclose(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
