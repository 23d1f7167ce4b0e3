"""Pacing by Shopify's GraphQL query cost (a ``RateLimiter`` for ``daemon.http.HttpClient``).

Shopify keeps a leaky bucket per app and shop and reports it in every response
(``extensions.cost.throttleStatus{maximumAvailable, currentlyAvailable, restoreRate}``). We mirror it:
the level is what Shopify last reported, refilled at ``restoreRate`` since then, minus what requests
still in flight have reserved. A query waits until the level covers its requested cost, so a
backlogged channel runs at the restore rate without being throttled. Before the first answer the
bucket is unknown and requests pass.
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

import orjson

from daemon.clock import SYSTEM_CLOCK, Clock
from daemon.http import PauseGate, Response

_EPSILON = 1e-6
_SLACK_S = 0.001
_reservation: contextvars.ContextVar[float] = contextvars.ContextVar("shopify_cost_reservation", default=0.0)


class CostBucket:
    def __init__(self, *, max_concurrency: int = 4, clock: Clock = SYSTEM_CLOCK) -> None:
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        self._clock = clock
        self._gate = PauseGate(clock)
        self._slots = asyncio.Semaphore(max_concurrency)
        self._queue = asyncio.Lock()  # waiters take budget in arrival order
        self.maximum: float | None = None
        self.restore_rate: float | None = None
        self._level = 0.0  # as last reported, refilled up to now
        self._stamp = clock.monotonic()
        self._in_flight = 0.0  # reserved by requests Shopify has not answered yet
        self.waited_s = 0.0

    @property
    def known(self) -> bool:
        return self.maximum is not None and self.restore_rate is not None

    def available(self) -> float:
        """Estimated points available to a new request now (inf while the bucket is unknown)."""
        if self.maximum is None or self.restore_rate is None:
            return float("inf")
        now = self._clock.monotonic()
        self._level = min(self.maximum, self._level + (now - self._stamp) * self.restore_rate)
        self._stamp = now
        return self._level - self._in_flight

    async def acquire(self, cost: float = 1.0) -> None:
        await self._slots.acquire()
        try:
            async with self._queue:
                await self._gate.wait()
                # A query can never need more than the whole bucket.
                need = min(cost, self.maximum) if self.maximum is not None else cost
                while (short := need - self.available()) > _EPSILON:
                    assert self.restore_rate is not None
                    # A little slack: float dust must neither leave the bucket a hair short nor turn
                    # into sleeps too small to move a clock.
                    wait = short / self.restore_rate + _SLACK_S
                    self.waited_s += wait
                    await self._clock.sleep(wait)
                self._in_flight += cost
                _reservation.set(cost)
        except BaseException:
            self._slots.release()
            raise

    def release(self) -> None:
        # HttpClient releases right before it observes the answer (no await in between), so the
        # reservation is dropped here and the server's figure replaces it in ``observe``. Without an
        # answer (timeout) the points count as spent until the next report.
        cost = _reservation.get()
        _reservation.set(0.0)
        self._in_flight = max(0.0, self._in_flight - cost)
        self._level -= cost
        self._slots.release()

    def pause(self, seconds: float) -> None:
        self._gate.pause(seconds)

    def observe(self, response: Response) -> None:
        try:
            payload = orjson.loads(response.body) if response.body else None
        except orjson.JSONDecodeError:
            return
        if isinstance(payload, dict):
            self.observe_cost((payload.get("extensions") or {}).get("cost"))

    def observe_cost(self, cost: Any) -> None:
        status = cost.get("throttleStatus") if isinstance(cost, dict) else None
        if not isinstance(status, dict):
            return
        try:
            self.maximum = float(status["maximumAvailable"])
            self.restore_rate = float(status["restoreRate"])
            self._level = float(status["currentlyAvailable"])
        except (KeyError, TypeError, ValueError):
            return
        self._stamp = self._clock.monotonic()
