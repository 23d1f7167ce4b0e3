"""Webhook deliveries every shop sandbox shares: an outbox, a worker that POSTs, fault knobs, a log.

A vendor module (``sandboxes/<kind>/webhooks.py``) decides *what* is sent (its subscriptions, payloads,
headers and signature) and what a failure does (retry schedule, disabling or removing the subscription);
this module decides *when* and *how*: asynchronously (the shop's API answer never waits for a delivery),
one attempt after another in the order they fall due, with the vendor's timeout.

Fault knobs (``PUT /_sandbox/webhooks``; each rate is a share 0..1, rolled per delivery):
``drop_rate`` (lost by the vendor: never sent, never retried), ``duplicate_rate`` (sent twice with the
same delivery id), ``delay_s`` (held before the first attempt, on the sandbox clock), ``reorder`` (N ≥ 2:
deliveries are released in groups of N, each group newest first; a short group after ``reorder_wait_s``),
``wrong_signature_rate`` (signed with a wrong key), ``disable_after_failures`` (consecutive failed
deliveries after which the vendor disables or removes the subscription), ``retry_delays_s`` (the delays
between attempts of one delivery; empty = no retries), ``timeout_s``, ``seed``.

Time: due times are on the sandbox clock, so with a ``FakeClock`` a test advances the clock and calls
``settle()``; with the system clock the worker simply waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from daemon.clock import Clock
from sandboxes.kit.kit import json_response

MAX_LOGGED_ATTEMPTS = 100_000
# (body, forged) -> headers: the vendor signs; ``forged`` asks for a signature made with a wrong key.
Signer = Callable[[bytes, bool], dict[str, str]]
# (delivery, succeeded) -> the delay before the next attempt, or None when the delivery is finished.
OutcomeHandler = Callable[["Outgoing", bool], float | None]


@dataclass
class Knobs:
    drop_rate: float = 0.0
    duplicate_rate: float = 0.0
    delay_s: float = 0.0
    reorder: int = 0
    reorder_wait_s: float = 2.0
    wrong_signature_rate: float = 0.0
    disable_after_failures: int = 0  # 0: never
    retry_delays_s: list[float] = field(default_factory=list)
    timeout_s: float = 5.0
    seed: int | None = None

    def update(self, body: dict[str, Any]) -> None:
        allowed = {f.name for f in fields(self)}
        unknown = set(body) - allowed
        if unknown:
            raise ValueError(f"unknown webhook knobs: {sorted(unknown)}; allowed: {sorted(allowed)}")
        for key, value in body.items():
            current = getattr(self, key)
            if key == "seed":
                if value is not None and not isinstance(value, int):
                    raise ValueError("seed must be an integer or null")
            elif isinstance(current, list):
                if not isinstance(value, list) or not all(isinstance(v, int | float) for v in value):
                    raise ValueError(f"{key} must be a list of numbers")
            elif isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{key} must be a number, got {value!r}")
            if key.endswith("_rate") and not 0 <= value <= 1:
                raise ValueError(f"{key} must be between 0 and 1, got {value}")
            setattr(self, key, value)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class Outgoing:
    """One delivery (all its attempts carry the same body and headers, as the vendors' retries do)."""

    subscription_id: str
    url: str
    topic: str
    body: bytes
    headers: dict[str, str]
    forged: bool = False
    duplicate: bool = False
    attempt: int = 1
    due: float = 0.0
    seq: int = 0


@dataclass(frozen=True)
class Attempt:
    """What the log keeps of one attempt (``GET /_sandbox/webhooks``)."""

    subscription_id: str
    url: str
    topic: str
    attempt: int
    status: int  # HTTP status; 0 when no answer (connection refused, timeout)
    error: str | None
    forged: bool
    duplicate: bool
    body: bytes = field(repr=False)
    headers: dict[str, str] = field(repr=False)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def as_dict(self) -> dict[str, Any]:
        return {
            "subscription_id": self.subscription_id,
            "url": self.url,
            "topic": self.topic,
            "attempt": self.attempt,
            "status": self.status,
            "error": self.error,
            "forged": self.forged,
            "duplicate": self.duplicate,
            "headers": self.headers,
            "body": self.body.decode("utf-8", "replace"),
        }


class Deliveries:
    """The outbox of one sandbox app and its worker (started and stopped with the app)."""

    def __init__(
        self,
        clock: Clock,
        defaults: Knobs,
        *,
        succeeded: Callable[[int], bool] = lambda status: 200 <= status < 300,
    ) -> None:
        self.clock = clock
        self._defaults = defaults
        self.knobs = Knobs(**defaults.as_dict())
        self.succeeded = succeeded
        self.on_outcome: OutcomeHandler = lambda _delivery, _ok: None
        self.dropped: list[tuple[str, str]] = []  # (subscription id, topic) of deliveries lost on purpose
        self.attempts: deque[Attempt] = deque(maxlen=MAX_LOGGED_ATTEMPTS)  # bounded like the request log
        self._rng = random.Random(defaults.seed)
        self._seq = itertools.count(1)
        self._queue: list[Outgoing] = []
        self._held: list[Outgoing] = []
        self._held_since = 0.0
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None
        self._worker: asyncio.Task[None] | None = None

    # the vendor's side ------------------------------------------------------------------------------

    def send(self, subscription_id: str, url: str, topic: str, body: bytes, sign: Signer) -> None:
        """Queue one delivery; knobs may drop, forge, duplicate, delay or reorder it."""
        if self._rng.random() < self.knobs.drop_rate:
            self.dropped.append((subscription_id, topic))
            return
        forged = self._rng.random() < self.knobs.wrong_signature_rate
        copies = 2 if self._rng.random() < self.knobs.duplicate_rate else 1
        headers = sign(body, forged)
        for copy in range(copies):
            outgoing = Outgoing(subscription_id, url, topic, body, headers, forged=forged, duplicate=copy > 0)
            outgoing.due = self.clock.monotonic() + self.knobs.delay_s
            outgoing.seq = next(self._seq)
            if self.knobs.reorder >= 2:
                if not self._held:
                    self._held_since = self.clock.monotonic()
                self._held.append(outgoing)
            else:
                self._queue.append(outgoing)
        self._wake.set()

    def forget(self, subscription_id: str) -> None:
        """A deleted or disabled subscription gets nothing more (pending retries included)."""
        self._queue = [d for d in self._queue if d.subscription_id != subscription_id]
        self._held = [d for d in self._held if d.subscription_id != subscription_id]

    @property
    def pending(self) -> int:
        return len(self._queue) + len(self._held)

    # control ----------------------------------------------------------------------------------------

    def reset(self) -> None:
        self.knobs = Knobs(**self._defaults.as_dict())
        self._rng = random.Random(self.knobs.seed)
        self._queue.clear()
        self._held.clear()
        self.attempts.clear()
        self.dropped.clear()

    def update_knobs(self, body: dict[str, Any]) -> None:
        self.knobs.update(body)
        if "seed" in body:
            self._rng = random.Random(body["seed"])
        self._wake.set()

    async def settle(self) -> None:
        """Deliver everything due now (on the sandbox clock) and return when nothing due is left."""
        if self._worker is None:
            raise RuntimeError("the delivery worker is not running (the sandbox app was not started)")
        self._idle.clear()
        self._wake.set()
        await self._idle.wait()

    # the worker -------------------------------------------------------------------------------------

    async def start(self, _app: web.Application | None = None) -> None:
        self._session = aiohttp.ClientSession()
        self._worker = asyncio.get_running_loop().create_task(self._run(), name="sandbox-webhooks")

    async def stop(self, _app: web.Application | None = None) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _release_held(self, now: float) -> None:
        group = self.knobs.reorder
        while group >= 2 and len(self._held) >= group:
            batch, self._held = self._held[:group], self._held[group:]
            self._enqueue_reversed(batch, now)
        if self._held and (group < 2 or now - self._held_since >= self.knobs.reorder_wait_s):
            batch, self._held = self._held, []
            self._enqueue_reversed(batch, now)

    def _enqueue_reversed(self, batch: list[Outgoing], now: float) -> None:
        for outgoing in reversed(batch):
            outgoing.seq = next(self._seq)
            outgoing.due = max(outgoing.due, now)
            self._queue.append(outgoing)

    def _next_wait(self, now: float) -> float | None:
        times = [d.due for d in self._queue]
        if self._held:
            times.append(self._held_since + self.knobs.reorder_wait_s)
        if not times:
            return None
        # Capped so a test's clock.advance() is noticed without a poke.
        return min(1.0, max(0.0, min(times) - now))

    async def _run(self) -> None:
        while True:
            now = self.clock.monotonic()
            self._release_held(now)
            due = sorted((d for d in self._queue if d.due <= now), key=lambda d: (d.due, d.seq))
            if due:
                chosen = due[0]
                self._queue.remove(chosen)
                await self._attempt(chosen)
                continue
            self._idle.set()
            self._wake.clear()
            wait = self._next_wait(now)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait if wait else None)

    async def _attempt(self, outgoing: Outgoing) -> None:
        assert self._session is not None
        status, error = 0, None
        try:
            async with self._session.post(
                outgoing.url,
                data=outgoing.body,
                headers=outgoing.headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=self.knobs.timeout_s),
            ) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        self.attempts.append(
            Attempt(
                outgoing.subscription_id,
                outgoing.url,
                outgoing.topic,
                outgoing.attempt,
                status,
                error,
                outgoing.forged,
                outgoing.duplicate,
                outgoing.body,
                outgoing.headers,
            )
        )
        retry_in = self.on_outcome(outgoing, bool(status) and self.succeeded(status))
        if retry_in is not None:
            outgoing.attempt += 1
            outgoing.due = self.clock.monotonic() + retry_in
            outgoing.seq = next(self._seq)
            self._queue.append(outgoing)


DELIVERIES_KEY: web.AppKey[Deliveries] = web.AppKey("sandbox_deliveries", Deliveries)


def add_routes(
    app: web.Application, deliveries: Deliveries, subscriptions: Callable[[], list[dict[str, Any]]]
) -> None:
    """``GET/PUT /_sandbox/webhooks`` and the worker's lifetime with the app's."""
    app[DELIVERIES_KEY] = deliveries
    app.on_startup.append(deliveries.start)
    app.on_cleanup.append(deliveries.stop)

    async def get(_request: web.Request) -> web.Response:
        return json_response(
            {
                "knobs": deliveries.knobs.as_dict(),
                "subscriptions": subscriptions(),
                "pending": deliveries.pending,
                "dropped": len(deliveries.dropped),
                "attempts": [a.as_dict() for a in deliveries.attempts],
            }
        )

    async def put(request: web.Request) -> web.Response:
        try:
            body = orjson.loads(await request.read() or b"{}")
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object of knobs")
            deliveries.update_knobs(body)
        except (ValueError, TypeError) as exc:
            return json_response({"error": str(exc)}, status=400)
        return json_response(deliveries.knobs.as_dict())

    app.router.add_get("/_sandbox/webhooks", get)
    app.router.add_put("/_sandbox/webhooks", put)
