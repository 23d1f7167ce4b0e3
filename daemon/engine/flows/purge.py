"""Purge: personal data does not stay forever (GDPR).

An order is closed when FFN shipped or cancelled it, when it was cancelled in the shop before it reached
FFN, or when it was skipped for good (not to be exported). ``personal_data_days`` after the job first saw
it closed, its payload loses the shipping address (all but the country), e-mail, phone and note. Ids,
hashes, states, lines and totals stay, so nothing is exported again and every report still adds up. An
order the shop changes later is pulled afresh (with its data) and, when it closes again, purged again.
"""

from __future__ import annotations

from datetime import timedelta

from loguru import logger

from daemon.engine.context import MerchantContext
from daemon.engine.flow import AnyFlow, Cycle, CycleCounts, Flow, Scope
from daemon.store.purge import purge_closed_orders


async def run(ctx: MerchantContext, counts: CycleCounts) -> None:
    await purge(Cycle(ctx, None, counts))


async def purge(cycle: Cycle) -> None:
    ctx, counts = cycle.ctx, cycle.counts
    now = ctx.clock.now()
    days = ctx.settings.personal_data_days
    purged = await purge_closed_orders(
        ctx.pool, ctx.merchant_id, now=now, closed_before=now - timedelta(days=days)
    )
    counts.changed += purged
    if purged:
        logger.info("removed personal data from {} order(s) closed more than {} days ago", purged, days)


PURGE: AnyFlow = Flow(name="purge", scope=Scope.MERCHANT, body=purge)
