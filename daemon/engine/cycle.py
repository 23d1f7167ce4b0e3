"""One run of one flow: counts, a summary line, health bookkeeping, error classification."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass

from loguru import logger

from daemon.engine.context import MerchantContext
from daemon.errors import AuthError, ChannelFatalError, RetryableError
from daemon.secrets import redact
from daemon.store.progress import record_cycle


@dataclass
class CycleCounts:
    pulled: int = 0
    changed: int = 0
    pushed: int = 0
    skipped: int = 0
    failed: int = 0
    retried: int = 0
    lag_s: float | None = None

    def summary(self) -> str:
        lag = "-" if self.lag_s is None else f"{self.lag_s:.0f}s"
        return (
            f"pulled={self.pulled} changed={self.changed} pushed={self.pushed} skipped={self.skipped}"
            f" failed={self.failed} retried={self.retried} lag={lag}"
        )


FlowBody = Callable[[CycleCounts], Awaitable[None]]


async def run_cycle(
    ctx: MerchantContext, channel: str, flow: str, interval_s: float, body: FlowBody
) -> CycleCounts:
    """Run ``body`` once; raise on failure so the scheduler backs the job off."""
    counts = CycleCounts()
    started = time.perf_counter()
    error: BaseException | None = None
    with logger.contextualize(merchant=ctx.merchant_id, channel=channel, flow=flow):
        try:
            await body(counts)
        except asyncio.CancelledError:
            # A stop or reload cancelled the cycle: expected, and its claims went back to the queue.
            logger.info(
                "{} shop={}/{} cancelled (stop or reload); {} so far",
                flow,
                ctx.merchant_id,
                channel,
                counts.summary(),
            )
            raise
        except BaseException as exc:
            error = exc
        duration = time.perf_counter() - started
        ok = error is None and counts.failed == 0
        message = None if error is None else redact(str(error))
        failures_in_a_row = await record_cycle(
            ctx.pool,
            ctx.merchant_id,
            channel,
            flow,
            interval_s=interval_s,
            at=ctx.clock.now(),
            ok=error is None,
            error=message,
            counts={k: v for k, v in asdict(counts).items() if v is not None},
            duration_s=duration,
        )
        ctx.observer.cycle_finished(
            ctx.merchant_id,
            channel,
            flow,
            {k: int(v) for k, v in asdict(counts).items() if k != "lag_s" and v},
            duration,
            ok,
        )
        shop = f"{ctx.merchant_id}/{channel}"
        if error is None:
            logger.info("{} shop={} {} in {:.2f}s", flow, shop, counts.summary(), duration)
            return counts
        # One ERROR when a flow starts failing; while it keeps failing, WARNING lines say so.
        level = "ERROR" if failures_in_a_row == 1 else "WARNING"
        again = "" if failures_in_a_row == 1 else f" (still failing, {failures_in_a_row} cycles in a row)"
        if isinstance(error, AuthError):
            logger.log(
                level,
                "{} shop={} stopped: credentials rejected: {}. Fix the credentials (or run `ffn-sync ffn-login`"
                " for FFN); the flow backs off until then{}",
                flow,
                shop,
                message,
                again,
            )
        elif isinstance(error, ChannelFatalError):
            logger.log(
                level,
                "{} shop={} stopped: {}; the flow backs off until an operator acts{}",
                flow,
                shop,
                message,
                again,
            )
        elif isinstance(error, RetryableError):
            logger.warning(
                "{} shop={} interrupted: {}; {} so far; next cycle resumes",
                flow,
                shop,
                message,
                counts.summary(),
            )
        else:
            logger.opt(exception=error).error("{} shop={} crashed: {}", flow, shop, message)
    # The scheduler backs the job off; it need not repeat the line above as another ERROR.
    error.already_logged = True  # type: ignore[attr-defined]
    raise error
