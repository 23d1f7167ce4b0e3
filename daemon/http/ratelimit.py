"""Rate limiters: how fast and how many at once callers of one upstream may go.

A limiter is shared by every caller of an upstream, so a pause set after a 429 holds them all.
All waiting goes through the injected clock so tests never wait.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from daemon.clock import SYSTEM_CLOCK, Clock

if TYPE_CHECKING:
    from daemon.http.response import Response


@runtime_checkable
class RateLimiter(Protocol):
    async def acquire(self, cost: float = 1.0) -> None:
        """Wait for budget and a concurrency slot."""
        ...

    def release(self) -> None:
        """Free the concurrency slot taken by ``acquire``."""
        ...

    def pause(self, seconds: float) -> None:
        """Hold every caller until ``seconds`` from now (after a 429 / Retry-After)."""
        ...

    def observe(self, response: Response) -> None:
        """Learn from a response (e.g. a cost header); may do nothing."""
        ...


class PauseGate:
    """A shared 'nobody goes before T' gate; building block for limiters."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._until = float("-inf")

    def pause(self, seconds: float) -> None:
        if seconds > 0:
            # A later, shorter pause must not shorten one already in force.
            self._until = max(self._until, self._clock.monotonic() + seconds)

    @property
    def remaining(self) -> float:
        return max(0.0, self._until - self._clock.monotonic())

    async def wait(self) -> None:
        while (remaining := self.remaining) > 0:
            await self._clock.sleep(remaining)


class NoLimit:
    """No pacing, no concurrency cap; still honours shared pauses."""

    def __init__(self, clock: Clock = SYSTEM_CLOCK) -> None:
        self._gate = PauseGate(clock)

    async def acquire(self, cost: float = 1.0) -> None:
        await self._gate.wait()

    def release(self) -> None:
        pass

    def pause(self, seconds: float) -> None:
        self._gate.pause(seconds)

    def observe(self, response: Response) -> None:
        pass


class TokenBucket:
    """Token bucket (``rate_per_s`` refill, ``burst`` capacity) plus a concurrency cap.

    Tokens are reserved before waiting (the level may go negative), so concurrent callers queue up
    in arrival order and each waits exactly its share instead of all waking at once.
    """

    def __init__(
        self, rate_per_s: float, burst: float, max_concurrency: int, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        if rate_per_s <= 0:
            raise ValueError(f"rate_per_s must be > 0, got {rate_per_s}")
        if burst < 1:
            raise ValueError(f"burst must be >= 1, got {burst}")
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        self.rate_per_s = rate_per_s
        self.burst = float(burst)
        self.max_concurrency = max_concurrency
        self._clock = clock
        self._gate = PauseGate(clock)
        self._slots = asyncio.Semaphore(max_concurrency)
        self._in_flight = 0
        self._tokens = float(burst)
        self._stamp = clock.monotonic()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def _refill(self) -> None:
        now = self._clock.monotonic()
        elapsed = now - self._stamp
        if elapsed > 0:
            self._tokens = min(self.burst, self._tokens + elapsed * self.rate_per_s)
        self._stamp = now

    async def acquire(self, cost: float = 1.0) -> None:
        await self._slots.acquire()
        try:
            await self._gate.wait()
            self._refill()
            self._tokens -= cost
            if self._tokens < 0:
                await self._clock.sleep(-self._tokens / self.rate_per_s)
            # A pause may have been set by another caller while this one waited for tokens.
            await self._gate.wait()
        except BaseException:
            self._slots.release()
            raise
        self._in_flight += 1

    def release(self) -> None:
        self._in_flight -= 1
        self._slots.release()

    def pause(self, seconds: float) -> None:
        self._gate.pause(seconds)

    def observe(self, response: Response) -> None:
        pass
