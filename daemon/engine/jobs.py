"""The scheduled jobs of one merchant: one per (channel, flow), each a cycle of its flow."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from daemon.engine.context import FFN_CHANNEL, MerchantContext
from daemon.engine.cycle import CycleCounts, run_cycle
from daemon.engine.flows import orders, products, purge, reconcile, shipments, status, stock
from daemon.scheduler import JobSpec


@dataclass(frozen=True, slots=True)
class Intervals:
    """Seconds between cycles."""

    orders: dict[str, float]  # per channel
    shop_stock: dict[str, float] = field(default_factory=dict)  # per channel; writes to that shop
    products: float = 300.0
    shipments: float = 60.0
    status: float = 120.0
    stock: float = 60.0
    reconcile: float = 3600.0
    purge: float = 6 * 3600.0


def merchant_jobs(ctx: MerchantContext, intervals: Intervals) -> list[JobSpec]:
    jobs: list[JobSpec] = []

    def job(
        channel: str,
        flow: str,
        interval_s: float,
        body: Callable[[CycleCounts], Awaitable[None]],
        *,
        phase: int = 0,
    ) -> None:
        async def run() -> None:
            await run_cycle(ctx, channel, flow, interval_s, body)

        jobs.append(JobSpec(ctx.merchant_id, channel, flow, interval_s, run, phase=phase))

    for channel in ctx.settings.channels:
        if channel.name not in ctx.channels:
            continue
        # Products first: `once` runs a channel's jobs in this order, and orders need the SKU map.
        if ctx.settings.product_master == channel.name:
            job(channel.name, "products", intervals.products, _bind(products.run, ctx, channel))
        job(channel.name, "orders", intervals.orders.get(channel.name, 60.0), _bind(orders.run, ctx, channel))
        # One stock writer per shop, so a hung or refusing shop holds up and backs off only itself;
        # `once` runs it after the FFN stock pull and the orders (phase 1) so one pass writes the result.
        job(
            channel.name,
            "stock",
            intervals.shop_stock.get(channel.name, intervals.stock),
            _bind(stock.push, ctx, channel),
            phase=1,
        )
    job(FFN_CHANNEL, "shipments", intervals.shipments, lambda counts: shipments.run(ctx, counts))
    job(FFN_CHANNEL, "status", intervals.status, lambda counts: status.run(ctx, counts))
    job(FFN_CHANNEL, "stock", intervals.stock, lambda counts: stock.pull(ctx, counts))
    job(FFN_CHANNEL, "reconcile", intervals.reconcile, lambda counts: reconcile.run(ctx, counts))
    job(FFN_CHANNEL, "purge", intervals.purge, lambda counts: purge.run(ctx, counts))
    return jobs


def _bind(
    flow: Callable[..., Awaitable[None]], ctx: MerchantContext, channel: object
) -> Callable[[CycleCounts], Awaitable[None]]:
    return lambda counts: flow(ctx, channel, counts)
