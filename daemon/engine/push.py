"""Send a flow's due snapshot rows: claimed with bounded concurrency, each outcome classified once, here."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from functools import partial

import asyncpg
from loguru import logger

from daemon.engine import history
from daemon.engine.context import MerchantContext
from daemon.engine.flow import FAILED, PUSHED, SKIPPED, AnyFlow, Cycle, CycleCounts
from daemon.engine.guard import ChannelUnavailable
from daemon.engine.skus import JfskuCache
from daemon.errors import ChannelFatalError, ManualActionNeeded, RecordError, RetryableError, SyncError
from daemon.secrets import redact
from daemon.store.batches import OutcomeBatch, collecting
from daemon.store.snapshot import Claimed

ItemHandler = Callable[[Claimed], Awaitable[str]]  # returns PUSHED | SKIPPED | WAITING | FAILED
BatchStep = Callable[[list[Claimed]], Awaitable[None]]

RETRY_BASE_S = 30.0
RETRY_MAX_S = 3600.0
# Short, and extended every third of it while the work runs: a claim outlives its process by at most
# this long when nobody takes the merchant's lease over (which frees it at once).
CLAIM_LEASE_S = 60.0
RELEASE_TIMEOUT_S = 5.0


def retry_delay_s(attempts: int, first_s: float = RETRY_BASE_S) -> float:
    """Exponential with jitter: 30 s, 1 min, 2 min, … capped at an hour."""
    base: float = min(RETRY_MAX_S, first_s * 2 ** max(0, attempts - 1))
    return base * random.uniform(0.8, 1.2)


async def push(flow: AnyFlow, cycle: Cycle) -> None:
    """Send the flow's due rows, each through its handler; then the flow's ``after_push``."""
    if flow.handler is None or flow.entity is None:
        return
    ctx = cycle.ctx
    # A SKU is looked up once per pass, not once per order, and again in the next pass: products learnt
    # meanwhile (the products job runs alongside) count at once.
    cycle.skus = JfskuCache(ctx.pool, ctx.merchant_id)
    async with history.batched(ctx.pool, ctx.merchant_id):
        await drain(
            ctx,
            channels=flow.queues(cycle),
            entity=flow.entity,
            handler=partial(flow.handler, cycle),
            counts=cycle.counts,
            prepare=partial(flow.prepare, cycle) if flow.prepare is not None else None,
        )
    if flow.after_push is not None:
        await flow.after_push(cycle)


class PushBehind:
    """For a flow that pushes while it reads: ``after_page()`` pushes what the pages so far brought in the
    background while the next page is read and stored (in series, FFN sat idle through each page's read,
    store, claim and prepare). One push at a time: the next waits for the one before, whose error is
    raised there; leaving the block awaits the last one. When reading fails, the running push still
    finishes (its creates are under way) and the read's error is the one raised; when the cycle is
    cancelled, so is the push (the drain gives its claims back)."""

    def __init__(self, flow: AnyFlow, cycle: Cycle) -> None:
        self._flow = flow
        self._cycle = cycle
        self._running: asyncio.Task[None] | None = None

    async def after_page(self) -> None:
        if self._running is not None:
            previous, self._running = self._running, None
            await previous
        self._running = asyncio.create_task(push(self._flow, self._cycle), name=f"push-{self._flow.name}")

    async def __aenter__(self) -> PushBehind:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _tb: object
    ) -> None:
        running, self._running = self._running, None
        if running is None:
            return
        if error is None:
            await running
            return
        if isinstance(error, asyncio.CancelledError):
            running.cancel()
        (outcome,) = await asyncio.gather(running, return_exceptions=True)
        if isinstance(outcome, Exception):
            # The read's error is the one raised; the push's own trouble (FFN refusing) must still show.
            logger.warning("{} push alongside the failed read failed too: {}", self._flow.name, outcome)


async def drain(
    ctx: MerchantContext,
    *,
    channels: Sequence[str],
    entity: str,
    handler: ItemHandler,
    counts: CycleCounts,
    prepare: BatchStep | None = None,
    max_rounds: int = 1000,
) -> None:
    """Claim and handle pending rows until none are due (or a fatal error stops the channel).

    ``prepare`` sees each claimed batch before its handlers run (the orders flow writes the batch's
    intents there in one statement)."""
    for _ in range(max_rounds):
        batch = await ctx.snapshot.claim(
            channels, entity, now=ctx.clock.now(), limit=ctx.settings.push_batch, lease_s=CLAIM_LEASE_S
        )
        if not batch:
            return
        await _drain_batch(ctx, batch, handler, counts, prepare)


async def _drain_batch(
    ctx: MerchantContext,
    batch: list[Claimed],
    handler: ItemHandler,
    counts: CycleCounts,
    prepare: BatchStep | None = None,
) -> None:
    gate = asyncio.Semaphore(ctx.settings.push_concurrency)
    fatal: list[ChannelFatalError] = []
    open_claims = {_key(item): item for item in batch}
    outcomes = OutcomeBatch(ctx.pool, ctx.merchant_id)

    async def one(item: Claimed) -> None:
        async with gate:
            if fatal:
                return  # released below, due again for the next cycle
            try:
                await _handle(ctx, item, handler, counts)
            except ChannelFatalError as exc:
                fatal.append(exc)
            else:
                open_claims.pop(_key(item), None)

    with collecting(outcomes):
        keeper = asyncio.create_task(_keep_claimed(ctx, open_claims, outcomes), name="claim-keeper")
        try:
            if prepare is not None:
                await prepare(batch)
            # Every record finishes (or is cancelled) before anything is released or raised: a claim
            # given back while its work still runs would let a second write of that order start.
            results = await asyncio.gather(*(one(item) for item in batch), return_exceptions=True)
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            await _flush(outcomes)
            # On a graceful stop (cancellation) or a fatal error the rest goes back at once, not after a lease.
            await _release(ctx, list(open_claims.values()))
    if fatal:
        raise fatal[0]
    for result in results:
        if isinstance(result, BaseException):
            raise result


def _key(item: Claimed) -> tuple[str, str, str]:
    return item.channel, item.entity, item.external_id


async def _keep_claimed(
    ctx: MerchantContext, open_claims: dict[tuple[str, str, str], Claimed], outcomes: OutcomeBatch
) -> None:
    while True:
        await asyncio.sleep(CLAIM_LEASE_S / 3)
        # Written-behind outcomes end their claims well before those lapse: a row finished since the
        # last tick was extended at most a third of a lease ago.
        await _flush(outcomes)
        try:
            until = ctx.clock.now() + timedelta(seconds=CLAIM_LEASE_S)
            await ctx.snapshot.extend(list(open_claims.values()), until)
        except Exception as exc:  # the work goes on; at worst a claim runs out
            logger.warning("could not extend {} claim(s): {}", len(open_claims), exc)


async def _flush(outcomes: OutcomeBatch) -> None:
    if not len(outcomes):
        return
    try:
        async with asyncio.timeout(RELEASE_TIMEOUT_S):
            await outcomes.flush()
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        # The work is done; unrecorded, its rows run again once their claims lapse, and every write
        # repeats idempotently (see daemon.store.batches).
        reason = (
            f"no answer from the database within {RELEASE_TIMEOUT_S:g} s"
            if isinstance(exc, TimeoutError)
            else exc
        )
        logger.warning("could not record the outcome of {} record(s): {}", len(outcomes), reason)


async def _release(ctx: MerchantContext, items: list[Claimed]) -> None:
    if not items:
        return
    try:
        async with asyncio.timeout(RELEASE_TIMEOUT_S):
            await ctx.snapshot.release(items)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        # The next holder of the merchant's lease frees them instead.
        logger.warning("could not release {} claim(s): {}", len(items), exc)


async def _handle(ctx: MerchantContext, item: Claimed, handler: ItemHandler, counts: CycleCounts) -> None:
    label = item.label or item.external_id
    with logger.contextualize(record=label):
        try:
            outcome = await handler(item)
        except RecordError as exc:
            counts.failed += 1
            message = redact(exc.message)
            if isinstance(exc, ManualActionNeeded):
                # One reason for every "a human must act" (a shipment for an order cancelled in the shop,
                # a cancel the shop refuses), whatever vendor code came with it, so an operator finds them all under one reason.
                code = history.MANUAL
                if label not in message:
                    message = f"order {label}: {message}"
            else:
                code = getattr(exc, "reason_code", None) or exc.vendor_code or type(exc).__name__
            await ctx.snapshot.park(item, code, message)
            logger.warning("parked {} {}: {} [{}]", item.entity, label, message, code)
            return
        except ChannelFatalError:
            raise
        except ChannelUnavailable as exc:
            # The shop is paused by its circuit breaker (down, hung, credentials rejected): the record waits
            # for it without spending an attempt, so a long outage parks nothing. The breaker logs the cause.
            wait = exc.retry_after or ctx.settings.retry_base_s
            await ctx.snapshot.postpone(item, ctx.clock.now() + timedelta(seconds=wait), redact(str(exc)))
            counts.retried += 1
            logger.debug("{} {} waits {:.0f}s for shop {}", item.entity, label, wait, item.channel)
            return
        except (RetryableError, Exception) as exc:
            # Anything unexpected (a bug, a payload no mapping foresaw) stays with this one record: it is
            # retried like a transient error and parked as internal_error once the attempts run out.
            # A deadlock or serialization failure is Postgres asking for the transaction again: transient.
            internal = not isinstance(exc, SyncError | asyncpg.TransactionRollbackError)
            message = redact(f"{type(exc).__name__}: {exc}" if internal else str(exc))
            # The outcome is written first: when even that fails, the database is the trouble, not this
            # record, and the cycle fails as a whole instead of logging an ERROR per record.
            if item.attempts >= ctx.settings.max_attempts:
                code = "internal_error" if internal else "retries_exhausted"
                await ctx.snapshot.park(item, code, f"gave up after {item.attempts} attempts: {message}")
                counts.failed += 1
                if internal:
                    logger.opt(exception=exc).error("unexpected error on {} {}", item.entity, label)
                logger.warning(
                    "parked {} {}: gave up after {} attempts: {}", item.entity, label, item.attempts, message
                )
                return
            delay = retry_delay_s(item.attempts, ctx.settings.retry_base_s)
            await ctx.snapshot.retry_later(item, ctx.clock.now() + timedelta(seconds=delay), message)
            counts.retried += 1
            if internal:
                logger.opt(exception=exc).error("unexpected error on {} {}", item.entity, label)
            logger.warning(
                "retry {} {} in {:.0f}s (attempt {}): {}", item.entity, label, delay, item.attempts, message
            )
            return
        if outcome == PUSHED:
            counts.pushed += 1
        elif outcome == SKIPPED:
            counts.skipped += 1
        elif outcome == FAILED:
            counts.failed += 1
