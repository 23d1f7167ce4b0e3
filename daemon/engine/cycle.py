"""One run of one flow: ``sync`` reads and writes it (the generic cycle), ``run_cycle`` keeps the books
around it (counts, a summary line, health, error classification)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from functools import partial

from loguru import logger

from daemon.engine.context import FFN_CHANNEL, MerchantContext
from daemon.engine.flow import AnyFlow, Cycle, CycleCounts
from daemon.engine.pull import pull
from daemon.engine.push import push
from daemon.engine.settings import ChannelSettings
from daemon.errors import AuthError, ChannelFatalError, RetryableError
from daemon.fence import LeaseExpired
from daemon.secrets import redact
from daemon.store.progress import record_cycle

__all__ = ["CycleCounts", "FlowBody", "run_cycle", "run_flow", "sync"]

FlowBody = Callable[[CycleCounts], Awaitable[None]]


async def run_flow(
    ctx: MerchantContext, flow: AnyFlow, channel: ChannelSettings | None, interval_s: float
) -> None:
    """One scheduled cycle of ``flow`` (for ``channel`` when it runs per shop), with its books kept; the
    merchant's stock jobs learn what it changed (``engine.stock_changes``)."""
    key = channel.name if channel is not None else FFN_CHANNEL
    body: FlowBody = partial(sync, ctx, flow, channel)
    if flow.moves_stock:
        body = partial(ctx.stock_changes.watch, body)
    try:
        await run_cycle(ctx, key, flow.name, interval_s, body)
    finally:
        ctx.stock_changes.look()


async def sync(
    ctx: MerchantContext, flow: AnyFlow, channel: ChannelSettings | None, counts: CycleCounts
) -> None:
    """The generic cycle: the flow's own body, or pull its windows into the queue, then push what is due."""
    cycle = Cycle(ctx, channel, counts)
    if flow.body is not None:
        await flow.body(cycle)
        return
    await pull(flow, cycle)
    await push(flow, cycle)


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
        except LeaseExpired:
            # This instance may no longer own the merchant: the flow's record belongs to the new owner.
            raise
        except BaseException as exc:
            error = exc
        duration = time.perf_counter() - started
        ok = error is None and counts.failed == 0
        message = None if error is None else redact(str(error))
        now = ctx.clock.now()
        quiet = error is None and counts.quiet()
        failures_in_a_row = 0
        unchanged = ctx.quiet.health_may_skip(channel, flow, interval_s, now, quiet)
        if unchanged:
            pass  # the stored row already says this (daemon.engine.quiet)
        elif quiet and ctx.quiet_health is not None:
            # Nothing a caller waits for (no failure count): written with the process' other quiet rows.
            row = (ctx.merchant_id, channel, flow, interval_s, now, counts.as_dict(), duration)
            ctx.quiet_health.add(row, partial(ctx.quiet.health_lost, channel, flow))
            ctx.quiet.health_written(channel, flow, interval_s, now, quiet)
        else:
            failures_in_a_row = await record_cycle(
                ctx.pool,
                ctx.merchant_id,
                channel,
                flow,
                interval_s=interval_s,
                at=now,
                ok=error is None,
                error=message,
                counts=counts.as_dict(),
                duration_s=duration,
            )
            ctx.quiet.health_written(channel, flow, interval_s, now, quiet)
        ctx.observer.cycle_finished(
            ctx.merchant_id,
            channel,
            flow,
            counts.nonzero(),
            duration,
            ok,
        )
        if error is None:
            # An operator tailing the log sees work and trouble; an idle fleet polls ~100 times a second, so
            # a quiet cycle's DEBUG line is not even formatted unless DEBUG is on (lazy: the summary is
            # worked out only for a sink that takes the line).
            logger.opt(lazy=True).log(
                "DEBUG" if quiet else "INFO",
                "{} shop={}/{} {} in {:.2f}s",
                lambda: flow,
                lambda: ctx.merchant_id,
                lambda: channel,
                counts.summary,
                lambda: duration,
            )
            return counts
        shop = f"{ctx.merchant_id}/{channel}"
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
