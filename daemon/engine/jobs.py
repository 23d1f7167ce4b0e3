"""The scheduled jobs of one merchant: one per (channel, flow), each a cycle of its flow."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from daemon.engine.context import FFN_CHANNEL, MerchantContext
from daemon.engine.cycle import CycleCounts, run_cycle
from daemon.engine.flows import orders, products, reconcile, shipments, status, stock
from daemon.runtime import JobSpec


@dataclass(frozen=True, slots=True)
class Intervals:
    """Seconds between cycles."""

    orders: dict[str, float]  # per channel
    products: float = 300.0
    shipments: float = 60.0
    status: float = 120.0
    stock: float = 60.0
    reconcile: float = 3600.0


def merchant_jobs(ctx: MerchantContext, intervals: Intervals) -> list[JobSpec]:
    jobs: list[JobSpec] = []

    def job(
        channel: str, flow: str, interval_s: float, body: Callable[[CycleCounts], Awaitable[None]]
    ) -> None:
        async def run() -> None:
            await run_cycle(ctx, channel, flow, interval_s, body)

        jobs.append(JobSpec(ctx.merchant_id, channel, flow, interval_s, run))

    for channel in ctx.settings.channels:
        if channel.name not in ctx.channels:
            continue
        # Products first: `once` runs a channel's jobs in this order, and orders need the SKU map.
        if ctx.settings.product_master == channel.name:
            job(channel.name, "products", intervals.products, _bind(products.run, ctx, channel))
        job(channel.name, "orders", intervals.orders.get(channel.name, 60.0), _bind(orders.run, ctx, channel))
    job(FFN_CHANNEL, "shipments", intervals.shipments, lambda counts: shipments.run(ctx, counts))
    job(FFN_CHANNEL, "status", intervals.status, lambda counts: status.run(ctx, counts))
    job(FFN_CHANNEL, "stock", intervals.stock, lambda counts: stock.run(ctx, counts))
    job(FFN_CHANNEL, "reconcile", intervals.reconcile, lambda counts: reconcile.run(ctx, counts))
    return jobs


def _bind(
    flow: Callable[..., Awaitable[None]], ctx: MerchantContext, channel: object
) -> Callable[[CycleCounts], Awaitable[None]]:
    return lambda counts: flow(ctx, channel, counts)
