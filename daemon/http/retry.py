"""When and how long to wait before trying a request again (tenacity underneath)."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from daemon.errors import RetryableError, SyncError

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})

BeforeSleep = Callable[[RetryCallState], Awaitable[None] | None]


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
        self._rng = rng or random.Random()

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
        return AsyncRetrying(
            stop=stop_after_attempt(self.max_attempts if idempotent else 1),
            wait=self.wait,
            retry=retry_if_exception(self.should_retry),
            sleep=sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
