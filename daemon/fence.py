"""The fence of a merchant's cycle: work of a merchant this process may no longer own stops at its next
HTTP request.

A cycle runs inside ``fenced(check)`` (``daemon.wiring.ownership``); every task it starts inherits the
context. ``daemon.http`` calls ``check_fence()`` right before a request leaves. ``check`` is in-memory (a
deadline on the monotonic clock, which keeps running while the process is stopped), so a process that
resumes after SIGSTOP refuses its first request even when none of its sockets has told it yet that its
lease connection is gone. Database statements are not fenced: what a stale cycle can still write between
its resumption and its next request is made from data it read while it owned the merchant (idempotent
upserts), and the gate lets no new cycle of the merchant start.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

FenceCheck = Callable[[], None]

_CURRENT: ContextVar[FenceCheck | None] = ContextVar("ffn_sync_fence", default=None)


class LeaseExpired(BaseException):
    """This process may have lost the merchant: the cycle stops here.

    A ``BaseException`` on purpose: the flows turn every ``Exception`` of one record into a retry or a
    parked record, and parking is a write the former owner must not make. The ownership gate catches it.
    """


@contextmanager
def fenced(check: FenceCheck) -> Iterator[None]:
    token = _CURRENT.set(check)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def check_fence() -> None:
    """Raise ``LeaseExpired`` when the running cycle's merchant may belong to someone else now."""
    check = _CURRENT.get()
    if check is not None:
        check()
