"""Status: FFN outbound changes keep our view of each outbound current; fulfiller-side cancels reach
the shop (note + tag by default, a real cancel only when the channel enables it)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from loguru import logger

from daemon.engine.codec import from_payload
from daemon.engine.context import MerchantContext
from daemon.engine.cycle import CycleCounts, sync
from daemon.engine.flow import PUSHED, Cycle, Flow, Scope
from daemon.engine.flows.ffn_to_shop import Located, located_chunks, order_of, settle, shop_row
from daemon.model import FulfillerStatus, OutboundStatus, Window
from daemon.store.snapshot import ENTITY_FSTATUS, ENTITY_ORDER, Claimed, Pulled

SHOP_RELEVANT = frozenset({OutboundStatus.CANCELED, OutboundStatus.PARTIALLY_CANCELED})


async def read_changes(cycle: Cycle, window: Window) -> AsyncIterator[Located[FulfillerStatus]]:
    async for chunk in located_chunks(cycle, cycle.ctx.fulfiller.outbound_changes(window)):
        ours = [(change.outbound_id, change.status.value) for change, target in chunk if target is not None]
        # An outbound's state decides how long its order reserves stock: a change counts (stock_changes).
        cycle.counts.changed += await cycle.ctx.snapshot.set_remote_statuses(ENTITY_ORDER, ours)
        for pair in chunk:
            yield pair


def change_rows(cycle: Cycle, record: Located[FulfillerStatus]) -> list[tuple[str, Pulled]]:
    change, target = record
    if target is None or change.status not in SHOP_RELEVANT:
        return []
    if target.cancelled_in_shop:
        return []  # our own cancel coming back
    key = f"{change.outbound_id}:{change.status.value}"
    return [shop_row(target, key, "status", change, change.updated_at)]


async def apply_change(cycle: Cycle, item: Claimed) -> str:
    change = from_payload(FulfillerStatus, item.payload["status"])
    settings = cycle.ctx.settings.channel(item.channel)
    ref = order_of(item)
    await cycle.ctx.channels[item.channel].apply_order_status(
        ref, change, cancel_in_shop=settings.cancel_in_shop
    )
    await settle(cycle, item)
    logger.warning(
        "fulfiller set outbound {} of order {} to {} ({}); shop informed{}",
        change.outbound_id,
        ref.number,
        change.status.value,
        change.cancel_reason or "no reason given",
        " and order cancelled" if settings.cancel_in_shop else " by note and tag",
    )
    return PUSHED


STATUS = Flow(
    name="status",
    scope=Scope.MERCHANT,
    entity=ENTITY_FSTATUS,
    cursor=True,
    source=read_changes,
    rows=change_rows,
    handler=apply_change,
    moves_stock=True,  # outbound states decide how long an exported order reserves
)


async def run(ctx: MerchantContext, counts: CycleCounts) -> None:
    await sync(ctx, STATUS, None, counts)
