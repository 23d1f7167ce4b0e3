"""When and how long to wait before trying a request again (tenacity underneath)."""

from __future__ import annotations

import random
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from tenacity import AsyncRetrying, DoAttempt, DoSleep, RetryCallState, retry_if_exception, stop_after_attempt

from daemon.errors import RetryableError, SyncError

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})

# One generator for every policy's jitter: a Random is ~2.5 KB of Mersenne Twister state, and a fleet has
# six policies per merchant. Only the jitter's spread matters, not whose draw is whose.
_JITTER = random.Random()

BeforeSleep = Callable[[RetryCallState], Awaitable[None] | None]
T = TypeVar("T")


def is_idempotent(method: str, idempotent: bool | None) -> bool:
    return idempotent if idempotent is not None else method.upper() in IDEMPOTENT_METHODS


def failure_of(state: RetryCallState) -> BaseException | None:
    outcome = state.outcome
    return outcome.exception() if outcome is not None and outcome.failed else None


class RetryPolicy:
    """Exponential backoff with jitter, bounded attempts, ``Retry-After`` honoured when sane.

    A ``Retry-After`` longer than ``max_retry_after_s`` is not slept through here: the error goes up
    (carrying ``retry_after``) so the scheduler can come back later instead of pinning a job.
    """

    def __init__(
        self,
        *,
        max_attempts: int,
        backoff_base_s: float,
        backoff_max_s: float,
        max_retry_after_s: float,
        rng: random.Random | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {max_attempts}")
        self.max_attempts = max_attempts
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.max_retry_after_s = max_retry_after_s
        self._rng = rng or _JITTER

    def backoff(self, attempt: int) -> float:
        """Wait after failed attempt number ``attempt`` (1-based): half fixed, half random."""
        ceiling = min(self.backoff_max_s, self.backoff_base_s * 2.0 ** (attempt - 1))
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def wait(self, state: RetryCallState) -> float:
        failure = failure_of(state)
        if isinstance(failure, SyncError) and failure.retry_after is not None:
            return float(failure.retry_after)
        return self.backoff(state.attempt_number)

    def should_retry(self, failure: BaseException) -> bool:
        if not isinstance(failure, RetryableError):
            return False
        return failure.retry_after is None or failure.retry_after <= self.max_retry_after_s

    def retrying(
        self, *, idempotent: bool, sleep: Callable[[float], Awaitable[None]], before_sleep: BeforeSleep
    ) -> AsyncRetrying:
        return _FirstAttemptFirst(
            stop=stop_after_attempt(self.max_attempts if idempotent else 1),
            wait=self.wait,
            retry=retry_if_exception(self.should_retry),
            sleep=sleep,
            before_sleep=before_sleep,
            reraise=True,
        )

    async def call(
        self,
        fn: Callable[..., Awaitable[T]],
        *args: Any,
        idempotent: bool,
        sleep: Callable[[float], Awaitable[None]],
        before_sleep: Callable[[], BeforeSleep],
    ) -> T:
        """``fn(*args)`` with retries; tenacity (and the ``before_sleep`` hook, made by its factory) only
        once the first attempt has failed: nearly every request succeeds at once, and building them per
        request was a visible share of an idle fleet's CPU."""
        try:
            return await fn(*args)
        except Exception:
            failure = sys.exc_info()
        retrying = self.retrying(idempotent=idempotent, sleep=sleep, before_sleep=before_sleep())
        assert isinstance(retrying, _FirstAttemptFirst)
        return await retrying.resume(failure, fn, *args)


class _FirstAttemptFirst(AsyncRetrying):
    """Tenacity's loop only once the first attempt has failed.

    Nearly every request succeeds at once, and tenacity's bookkeeping per call (its state, action list and
    statistics) cost more than the request's own Python work in an idle fleet. From the first failure on,
    tenacity decides exactly as before: its state starts at attempt 1 with that failure as the outcome.
    """

    async def __call__(  # type: ignore[override]
        self, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any
    ) -> T:
        try:
            return await fn(*args, **kwargs)
        except Exception:
            failure = sys.exc_info()
        return await self.resume(failure, fn, *args, **kwargs)

    async def resume(self, failure: Any, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """Tenacity's loop from a failed first attempt on."""
        self.begin()
        state = RetryCallState(retry_object=self, fn=fn, args=args, kwargs=kwargs)
        state.set_exception(failure)  # type: ignore[arg-type]
        while True:
            do = await self.iter(retry_state=state)
            if isinstance(do, DoAttempt):
                try:
                    result = await fn(*args, **kwargs)
                except BaseException:
                    state.set_exception(sys.exc_info())  # type: ignore[arg-type]
                else:
                    state.set_result(result)
            elif isinstance(do, DoSleep):
                state.prepare_for_next_attempt()
                await self.sleep(do)  # type: ignore[misc]
            else:
                return do  # type: ignore[no-any-return]
