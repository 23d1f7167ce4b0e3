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


@dataclass
class CycleCounts:
    pulled: int = 0
    changed: int = 0
    pushed: int = 0
    skipped: int = 0
    failed: int = 0
    retried: int = 0
    lag_s: float | None = None

    def quiet(self) -> bool:
        """Nothing read, written, skipped or failed: the cycle had nothing to report."""
        return not (self.pulled or self.changed or self.pushed or self.skipped or self.failed or self.retried)

    def summary(self) -> str:
        lag = "-" if self.lag_s is None else f"{self.lag_s:.0f}s"
        return (
            f"pulled={self.pulled} changed={self.changed} pushed={self.pushed} skipped={self.skipped}"
            f" failed={self.failed} retried={self.retried} lag={lag}"
        )


FlowBody = Callable[[CycleCounts], Awaitable[None]]

_HEALTH_UPSERT = """
INSERT INTO flow_health AS h (merchant_id, channel, flow, interval_s, last_run_at, last_success_at, last_error,
                              consecutive_failures, last_counts, last_duration_s)
VALUES ($1, $2, $3, $4, $5::timestamptz, CASE WHEN $6::boolean THEN $5::timestamptz END, $7, CASE WHEN $6::boolean THEN 0 ELSE 1 END, $8, $9)
ON CONFLICT (merchant_id, channel, flow) DO UPDATE SET
    interval_s = excluded.interval_s,
    last_run_at = excluded.last_run_at,
    last_success_at = coalesce(excluded.last_success_at, h.last_success_at),
    last_error = excluded.last_error,
    consecutive_failures = CASE WHEN $6::boolean THEN 0 ELSE h.consecutive_failures + 1 END,
    last_counts = excluded.last_counts,
    last_duration_s = excluded.last_duration_s
RETURNING consecutive_failures
"""


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
        now = ctx.clock.now()
        quiet = error is None and counts.quiet()
        failures_in_a_row = 0
        if not ctx.quiet.health_may_skip(channel, flow, interval_s, now, quiet):
            failures_in_a_row = await ctx.pool.fetchval(
                _HEALTH_UPSERT,
                ctx.merchant_id,
                channel,
                flow,
                interval_s,
                now,
                error is None,
                message,
                {k: v for k, v in asdict(counts).items() if v is not None},
                duration,
            )
            ctx.quiet.health_written(channel, flow, interval_s, now, quiet)
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
            # An operator tailing the log sees work and trouble; an idle fleet polls ~100 times a second.
            logger.log(
                "DEBUG" if quiet else "INFO",
                "{} shop={} {} in {:.2f}s",
                flow,
                shop,
                counts.summary(),
                duration,
            )
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
