"""``build_runtime``: the RuntimeFactory the lifecycle calls at start and after a reload."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial

from loguru import logger

from daemon.clock import SYSTEM_CLOCK, Clock
from daemon.config import AppConfig, MerchantConfig
from daemon.engine.context import MerchantContext
from daemon.engine.guard import GuardedChannel
from daemon.engine.jobs import merchant_jobs
from daemon.engine.nudges import Nudges, ReadPacing, SearchLag
from daemon.engine.observer import NullObserver, Observer
from daemon.http import HttpClient
from daemon.jobrunner import JobSpec
from daemon.monitor import MetricsObserver, attach_http_metrics, default_metrics
from daemon.ports import Fulfiller, ShopChannel
from daemon.store import Database
from daemon.store.lease import DEFAULT_LEASE_TIMEOUT_S
from daemon.store.progress import QuietHealth
from daemon.store.snapshot import parked_since
from daemon.webhooks.service import WebhookSet
from daemon.wiring.clients import build_channel, build_fulfiller
from daemon.wiring.ownership import Ownership, lease_timeout_for
from daemon.wiring.settings import intervals, merchant_settings
from daemon.wiring.takeovers import TakeOvers
from daemon.wiring.webhooks import hand_over_nudge, webhook_set


@dataclass
class MerchantRuntime:
    contexts: list[MerchantContext] = field(default_factory=list)
    jobs: Sequence[JobSpec] = ()
    ownership: Ownership | None = None
    webhooks: WebhookSet = field(default_factory=WebhookSet)
    quiet_health: QuietHealth | None = None

    def bind_trigger(self, trigger: Callable[[str], bool]) -> None:
        """Once the jobs are scheduled, ``trigger`` (the scheduler's, coalesced with a run under way) runs:
        a shop's stock job when something its stock depends on changed (``engine.stock_changes``), and
        the orders jobs and stock comparisons of a merchant taken from another instance at once, instead
        of at their next grid point."""
        stock: dict[tuple[str, str | None], str] = {}
        orders: dict[str, list[str]] = {}
        for job in self.jobs:
            if job.flow == "orders":
                orders.setdefault(job.merchant, []).append(job.name)
            elif job.flow == "stock" and job.channel is not None:
                stock[(job.merchant, job.channel)] = job.name
        by_merchant = {ctx.merchant_id: ctx for ctx in self.contexts}
        for ctx in self.contexts:

            def run_stock(channel: str, merchant: str = ctx.merchant_id) -> bool:
                name = stock.get((merchant, channel))
                return name is not None and trigger(name)

            ctx.stock_changes.trigger = run_stock
        if self.ownership is None:
            return

        def run(merchant_id: str) -> None:
            ctx = by_merchant.get(merchant_id)
            if ctx is not None:  # the previous holder may have changed anything
                ctx.stock_changes.announce()
            for name in orders.get(merchant_id, ()):
                trigger(name)

        self.ownership.prompt_runs.run = run

    def owned_since(self) -> dict[str, datetime] | None:
        """The merchants this instance runs now and since when; None: every merchant (no ownership)."""
        return None if self.ownership is None else self.ownership.owned_since()

    async def parked_since(self, since: datetime) -> int:
        """Records of these merchants that became dead letters since ``since``."""
        if not self.contexts:
            return 0
        return await parked_since(self.contexts[0].pool, [ctx.merchant_id for ctx in self.contexts], since)

    def forget_cursors(self, merchant: str | None = None) -> None:
        """Another process moved cursors of ``merchant`` (None: any) back: read them again (``Cursors``)."""
        for ctx in self.contexts:
            if merchant is None or ctx.merchant_id == merchant:
                ctx.cursors.forget()
                ctx.nudges.forget_listed()

    async def retry_now(self, merchant: str | None = None, *, shops: bool = True) -> None:
        for ctx in self.contexts:
            if merchant is not None and ctx.merchant_id != merchant:
                continue
            for channel in ctx.channels.values() if shops else ():
                if isinstance(channel, GuardedChannel) and channel.breaker.open_until is not None:
                    channel.breaker.reset()
                    logger.info("shop {}: writes resume now (reload: its pause is lifted)", channel.name)
            try:
                due = await ctx.snapshot.due_now(now=ctx.clock.now())
            except Exception as exc:  # the other merchants still get theirs; the jobs wake regardless
                logger.warning("{}: could not make waiting records due now: {}", ctx.merchant_id, exc)
                continue
            if due:
                logger.info("{}: {} waiting record(s) are due now", ctx.merchant_id, due)

    async def aclose(self) -> None:
        if self.quiet_health is not None:
            await self.quiet_health.aclose()
        if self.ownership is not None:
            await self.ownership.aclose()
        for ctx in self.contexts:
            closers: list[Fulfiller | ShopChannel] = [ctx.fulfiller, *ctx.channels.values()]
            for client in closers:
                try:
                    await client.aclose()
                except Exception as exc:  # closing must go on for the others
                    logger.warning("closing a client of {} failed: {}", ctx.merchant_id, exc)


def build_context(
    merchant: MerchantConfig, db: Database, *, clock: Clock = SYSTEM_CLOCK, observer: Observer | None = None
) -> MerchantContext:
    fulfiller = build_fulfiller(merchant, db.pool, clock)
    shops = {
        c.name: build_channel(c, clock, pool=db.pool, merchant_id=merchant.id)
        for c in merchant.enabled_channels
    }
    _attach_api_metrics(merchant.id, "ffn", fulfiller)
    for config in merchant.enabled_channels:
        _attach_api_metrics(merchant.id, config.kind, shops[config.name])
    # Every write to a shop goes through its own deadline and circuit breaker (see engine.guard).
    channels: dict[str, ShopChannel] = {
        c.name: GuardedChannel(c.name, shops[c.name], deadline_s=c.write_deadline_s, clock=clock)
        for c in merchant.enabled_channels
    }
    flows = default_metrics().flows
    return MerchantContext(
        settings=merchant_settings(merchant),
        pool=db.pool,
        fulfiller=fulfiller,
        channels=channels,
        clock=clock,
        observer=observer or NullObserver(),
        nudges=Nudges(
            clock=clock,
            on_taken=lambda channel, flow, seconds: flows.trigger_delay(
                (merchant.id, channel, flow), seconds
            ),
            # A shop with an API budget (Shopify's cost bucket) lengthens the gap between triggered reads.
            pacing=lambda name: shop if isinstance(shop := shops.get(name), ReadPacing) else None,
            search_lag=lambda name: shop if isinstance(shop := shops.get(name), SearchLag) else None,
        ),
    )


def _attach_api_metrics(merchant: str, upstream: str, client: object) -> None:
    # Every adapter talks through one daemon.http.HttpClient (Shopify's sits in its GraphQL transport).
    http = getattr(client, "http", None) or getattr(getattr(client, "transport", None), "http", None)
    if isinstance(http, HttpClient):
        attach_http_metrics(http.stats, upstream=upstream, merchant=merchant)


async def build_runtime(
    config: AppConfig,
    db: Database,
    *,
    observer: Observer | None = None,
    exclusive: bool = True,
    balanced: bool = False,
    take_overs: TakeOvers | None = None,
) -> MerchantRuntime:
    """Contexts and jobs for every configured merchant.

    ``exclusive``: each job first makes sure this instance owns its merchant (see ``ownership``); only
    tests that drive flows in-process next to a running daemon turn it off. ``balanced``: this process
    registers as an instance and shares the merchants with the others (``ffn-sync run``); without it
    (``once``, ``resync``) it takes whatever merchant is free. ``take_overs``: the process' take-over times,
    kept across reloads (see ``daemon.wiring.takeovers``).
    """
    observer = observer or MetricsObserver()
    quiet_health = QuietHealth(db.pool)
    contexts: list[MerchantContext] = []
    jobs: list[JobSpec] = []
    for merchant in config.merchants:
        ctx = build_context(merchant, db, observer=observer)
        ctx.quiet_health = quiet_health
        contexts.append(ctx)
        jobs.extend(merchant_jobs(ctx, intervals(merchant)))
    runtime = MerchantRuntime(contexts=contexts, quiet_health=quiet_health)
    if exclusive:
        shortest = min((job.interval_s for job in jobs), default=DEFAULT_LEASE_TIMEOUT_S * 2)
        runtime.ownership = Ownership(
            db.dsn,
            [m.id for m in config.merchants],
            balanced=balanced,
            lease_timeout_s=lease_timeout_for(shortest),
            take_overs=take_overs,
        )
        by_merchant = {ctx.merchant_id: ctx for ctx in contexts}
        hand_over = partial(hand_over_nudge, db.pool, by_merchant)
        jobs = [_owned_only(job, runtime.ownership, hand_over) for job in jobs]
        # Before the first cycle (and, on a reload, before the old runtime lets go of its merchants): the
        # new lease takes them back at its next renewal while the peers, at their share, leave them be.
        await runtime.ownership.start()
    runtime.jobs = tuple(jobs)
    runtime.webhooks = await webhook_set(config, db.pool, runtime.contexts, runtime.jobs)
    if runtime.ownership is not None:
        runtime.webhooks = replace(runtime.webhooks, owns=runtime.ownership.owns)
    return runtime


async def build_instance_runtime(
    config: AppConfig, db: Database, *, take_overs: TakeOvers | None = None
) -> MerchantRuntime:
    """``ffn-sync run``: one of possibly several instances sharing the merchants (see ``ownership``)."""
    return await build_runtime(config, db, balanced=True, take_overs=take_overs)


def instance_runtime_factory() -> Callable[[AppConfig, Database], Awaitable[MerchantRuntime]]:
    """The factory of one ``ffn-sync run`` process: its runtimes (one per reload) share its take-overs."""
    return partial(build_instance_runtime, take_overs=TakeOvers())


def _owned_only(
    job: JobSpec, ownership: Ownership, hand_over: Callable[[JobSpec], Awaitable[None]]
) -> JobSpec:
    return replace(job, run=partial(_run_or_hand_over, ownership, job, hand_over))


async def _run_or_hand_over(
    ownership: Ownership, job: JobSpec, hand_over: Callable[[JobSpec], Awaitable[None]]
) -> None:
    """The cycle if this instance owns the merchant; else a webhook nudge waiting for it goes to the owner
    (a delivery reached this instance, behind the same address as the owner)."""
    if await ownership.owns(job.merchant):
        await ownership.run_if_owned(job.merchant, job.run)
    else:
        await hand_over(job)
