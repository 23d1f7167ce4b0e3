"""Per-channel isolation of write-backs: a deadline per call and a circuit breaker per shop.

The shipments and status flows drain one queue for every shop of a merchant, and the stock job of one
shop must not be held up by another's. Every write to a shop (``apply_shipment``, ``apply_order_status``,
``set_stock``) therefore goes through the shop's ``GuardedChannel``: a call that does not finish within
the deadline is abandoned, and after ``threshold`` failures in a row the breaker opens — calls fail at
once for a cool-down that doubles while the shop keeps failing — so a hung or refusing shop costs the
others at most one deadline, not its HTTP client's full retry budget on every record.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from loguru import logger

from daemon.clock import SYSTEM_CLOCK, Clock
from daemon.errors import ChannelFatalError, RecordError, RetryableError
from daemon.model import FulfillerStatus, OrderRef, Shipment, ShopOrder, ShopProduct, ShopStock, Window
from daemon.ports import ItemResult, ShopChannel, UnreadableOrder
from daemon.secrets import redact

T = TypeVar("T")

DEFAULT_WRITE_DEADLINE_S = 90.0


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    threshold: int = 3  # failures in a row before the breaker opens
    cooldown_s: float = 60.0  # first open period; doubles per failed trial
    max_cooldown_s: float = 900.0


class ChannelUnavailable(RetryableError):
    """The shop's breaker is open: the write was not attempted."""


class CircuitBreaker:
    """Closed → (threshold failures) → open for a cool-down → one trial → closed or open again."""

    def __init__(
        self, name: str, policy: BreakerPolicy | None = None, *, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self.name = name
        self.policy = policy or BreakerPolicy()
        self.clock = clock
        self.failures = 0
        self.opened = 0  # open periods in a row, for the doubling
        self.open_until: datetime | None = None
        self._trial = False

    @property
    def is_open(self) -> bool:
        return self.open_until is not None and self.clock.now() < self.open_until

    def before_call(self) -> None:
        """Raise ChannelUnavailable while open; let exactly one trial through after the cool-down."""
        if self.open_until is None:
            return
        if self.is_open or self._trial:
            until = self.open_until.isoformat(timespec="seconds")
            remaining = max(0.0, (self.open_until - self.clock.now()).total_seconds())
            raise ChannelUnavailable(
                f"shop {self.name} is failing; writes to it paused until {until}",
                upstream=self.name,
                retry_after=remaining or self.policy.cooldown_s,
            )
        self._trial = True

    def succeeded(self) -> None:
        if self.open_until is not None:
            logger.info("shop {} answers again; writes to it resume", self.name)
        self.failures = 0
        self.opened = 0
        self.open_until = None
        self._trial = False

    def failed(self, error: BaseException, *, reported: bool = False) -> None:
        """Count a failure; ``reported``: the caller's job already tells the operator (no second ERROR)."""
        self.failures += 1
        was_trial, self._trial = self._trial, False
        if self.failures < self.policy.threshold and self.open_until is None:
            return
        if self.open_until is not None and not was_trial:
            # A call started before the breaker opened: the open period already accounts for it,
            # only a failed trial may double the cool-down.
            return
        self.opened += 1
        cooldown = min(self.policy.max_cooldown_s, self.policy.cooldown_s * 2 ** (self.opened - 1))
        self.open_until = self.clock.now() + timedelta(seconds=cooldown)
        level = "ERROR" if self.opened == 1 and not reported else "WARNING"
        logger.log(
            level,
            "shop {}: writes paused for {:.0f}s after {} failure(s) in a row: {}",
            self.name,
            cooldown,
            self.failures,
            redact(str(error)),
        )

    def trial_abandoned(self) -> None:
        """The call was cancelled before the shop answered: let the next call be the trial."""
        self._trial = False

    def reset(self) -> None:
        self.failures = 0
        self.opened = 0
        self.open_until = None
        self._trial = False


class GuardedChannel:
    """A ShopChannel whose writes run under a deadline and the shop's circuit breaker; reads pass through.

    ``ChannelFatalError`` from ``apply_shipment``/``apply_order_status`` is turned into a retryable error:
    the queue drains every shop's rows together, and one shop's revoked credentials must back off that
    shop only (through the breaker), not stop the batch of the others.
    """

    def __init__(
        self,
        name: str,
        inner: ShopChannel,
        *,
        deadline_s: float = DEFAULT_WRITE_DEADLINE_S,
        breaker: CircuitBreaker | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.name = name
        self.inner = inner
        self.deadline_s = deadline_s
        self.breaker = breaker or CircuitBreaker(name, clock=clock)
        self.kind = inner.kind
        self.stock_cas = inner.stock_cas

    def __getattr__(self, attr: str) -> Any:
        # Adapter-specific attributes (http client, catalog, …) stay reachable for metrics and tests.
        return getattr(self.inner, attr)

    def __repr__(self) -> str:
        return f"GuardedChannel({self.name!r}, {self.inner!r})"

    async def guarded(self, call: Callable[[], Awaitable[T]], *, isolate_fatal: bool) -> T:
        self.breaker.before_call()
        try:
            async with asyncio.timeout(self.deadline_s):
                result = await call()
        except TimeoutError:
            error = RetryableError(
                f"shop {self.name} did not finish a write within {self.deadline_s:g}s", upstream=self.name
            )
            self.breaker.failed(error, reported=not isolate_fatal)
            raise error from None
        except RecordError:
            self.breaker.succeeded()  # the shop answered; the record is what is wrong
            raise
        except ChannelFatalError as exc:
            self.breaker.failed(exc, reported=not isolate_fatal)
            if not isolate_fatal:
                raise
            raise ChannelUnavailable(str(exc), upstream=self.name, retry_after=exc.retry_after) from exc
        except RetryableError as exc:
            self.breaker.failed(exc, reported=not isolate_fatal)
            raise
        except Exception as exc:
            # An unexpected error (a bug, an unparsable answer) is still a failed call; left uncounted
            # during a trial it would keep the breaker half-open, every write paused, for good.
            self.breaker.failed(exc, reported=not isolate_fatal)
            raise
        except BaseException:
            self.breaker.trial_abandoned()
            raise
        self.breaker.succeeded()
        return result

    def changed_products(self, window: Window) -> AsyncIterator[ShopProduct]:
        return self.inner.changed_products(window)

    def changed_orders(self, window: Window) -> AsyncIterator[ShopOrder | UnreadableOrder]:
        return self.inner.changed_orders(window)

    async def get_order(self, order_id: str) -> ShopOrder | UnreadableOrder | None:
        return await self.inner.get_order(order_id)

    async def apply_shipment(self, order: OrderRef, shipment: Shipment) -> None:
        await self.guarded(lambda: self.inner.apply_shipment(order, shipment), isolate_fatal=True)

    async def apply_order_status(
        self, order: OrderRef, status: FulfillerStatus, *, cancel_in_shop: bool
    ) -> None:
        await self.guarded(
            lambda: self.inner.apply_order_status(order, status, cancel_in_shop=cancel_in_shop),
            isolate_fatal=True,
        )

    async def set_stock(self, levels: Sequence[ShopStock]) -> list[ItemResult]:
        # The stock job is per shop: a fatal error fails that job, and the scheduler backs it off.
        return await self.guarded(lambda: self.inner.set_stock(levels), isolate_fatal=False)

    async def aclose(self) -> None:
        await self.inner.aclose()
