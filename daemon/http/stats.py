"""Counters for one client, plus hooks so metrics can be attached from outside."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from loguru import logger

# Status recorded for an attempt that got no HTTP answer (connection error, timeout).
NO_RESPONSE = 0


@dataclass(frozen=True, slots=True)
class CallRecord:
    upstream: str
    method: str
    status: int  # NO_RESPONSE when the request failed before an answer arrived
    elapsed_s: float
    attempt: int
    # This attempt repeats the previous one of the same request, whose answer was this status (a retry);
    # None for a first attempt and for a repeat of the same attempt after a credential refresh.
    retry_of: int | None = None


CallHook = Callable[[CallRecord], None]


@dataclass
class HttpStats:
    calls: Counter[tuple[str, int]] = field(default_factory=Counter)
    retries: int = 0
    rate_limit_waits: int = 0
    rate_limit_wait_s: float = 0.0
    on_call: list[CallHook] = field(default_factory=list)

    def record_call(self, record: CallRecord) -> None:
        self.calls[(record.method, record.status)] += 1
        for hook in list(self.on_call):
            try:
                hook(record)
            except Exception as exc:  # a broken metrics hook must not break syncing
                logger.warning(f"http stats hook failed: {type(exc).__name__}")

    def record_wait(self, seconds: float) -> None:
        if seconds > 0:
            self.rate_limit_waits += 1
            self.rate_limit_wait_s += seconds

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())
