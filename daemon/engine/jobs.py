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

# Flows of the whole merchant that no config key times.
MERCHANT_DEFAULTS: dict[str, float] = {"purge": 6 * 3600.0}


@dataclass(frozen=True, slots=True)
class Intervals:
    """Seconds between scheduled cycles, by flow name: each shop's (``[channels.intervals]``) and the
    merchant's (``[ffn.intervals]``). A shop's ``stock`` is its safety comparison; changes trigger its
    job in between (``engine.stock_changes``)."""

    channels: dict[str, dict[str, float]]  # channel -> flow -> seconds
    merchant: dict[str, float] = field(default_factory=dict)  # flow -> seconds

    def of(self, flow: AnyFlow, channel: ChannelSettings | None) -> float:
        if channel is None:
            return {**MERCHANT_DEFAULTS, **self.merchant}[flow.name]
        return self.channels[channel.name][flow.name]


def merchant_jobs(ctx: MerchantContext, intervals: Intervals) -> list[JobSpec]:
    jobs: list[JobSpec] = []

    def job(flow: AnyFlow, channel: ChannelSettings | None) -> None:
        interval_s = intervals.of(flow, channel)
        key = channel.name if channel is not None else FFN_CHANNEL
        run = partial(run_flow, ctx, flow, channel, interval_s)
        jobs.append(
            JobSpec(ctx.merchant_id, key, flow.name, interval_s, run, phase=flow.phase, retry_s=flow.retry_s)
        )

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
