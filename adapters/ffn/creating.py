"""Retrying creates (POST) after ambiguous failures: safe here because FFN detects the repeat
(``Products_DuplicateProduct``, ``Outbounds_NotCanceledOutboundExists``) and the caller adopts it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from loguru import logger

from daemon.clock import Clock
from daemon.errors import RetryableError

T = TypeVar("T")


async def create_with_retries(
    what: str,
    attempt: Callable[[], Awaitable[T]],
    *,
    clock: Clock,
    attempts: int,
    backoff_s: float,
    backoff_max_s: float = 30.0,
) -> T:
    for number in range(1, attempts + 1):
        try:
            return await attempt()
        except RetryableError as exc:
            if number >= attempts:
                raise
            wait = (
                exc.retry_after
                if exc.retry_after is not None
                else min(backoff_max_s, backoff_s * 2 ** (number - 1))
            )
            logger.warning(
                f"retry ffn create {what}: {exc.vendor_code or exc.status or 'no answer'} "
                f"attempt={number + 1}/{attempts} wait={wait:.2f}s"
            )
            await clock.sleep(wait)
    raise AssertionError("unreachable")
