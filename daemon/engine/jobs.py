"""The scheduled jobs of one merchant: one per (channel, flow), each a cycle of its flow."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from daemon.engine.context import FFN_CHANNEL, MerchantContext
from daemon.engine.cycle import run_flow
from daemon.engine.flow import AnyFlow, Scope
from daemon.engine.flows.registry import FLOWS
from daemon.engine.settings import ChannelSettings
from daemon.jobrunner import JobSpec


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

    def of(self, flow: AnyFlow, channel: ChannelSettings | None) -> float:
        if channel is None:
            return float(getattr(self, flow.name))
        if flow.name == "orders":
            return self.orders.get(channel.name, 60.0)
        if flow.name == "stock":
            return self.shop_stock.get(channel.name, self.stock)
        return float(getattr(self, flow.name))


def merchant_jobs(ctx: MerchantContext, intervals: Intervals) -> list[JobSpec]:
    jobs: list[JobSpec] = []

    def job(flow: AnyFlow, channel: ChannelSettings | None) -> None:
        interval_s = intervals.of(flow, channel)
        key = channel.name if channel is not None else FFN_CHANNEL
        run = partial(run_flow, ctx, flow, channel, interval_s)
        jobs.append(JobSpec(ctx.merchant_id, key, flow.name, interval_s, run, phase=flow.phase))

    # A channel's jobs in the order of FLOWS (``once`` runs them so), then the merchant's.
    for channel in ctx.settings.channels:
        if channel.name not in ctx.channels:
            continue
        for flow in FLOWS:
            if flow.scope is Scope.CHANNEL and flow.runs_for(channel, ctx.settings.product_master):
                job(flow, channel)
    for flow in FLOWS:
        if flow.scope is Scope.MERCHANT:
            job(flow, None)
    return jobs
