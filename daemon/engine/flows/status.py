"""Status: FFN outbound changes keep our view of each outbound current; fulfiller-side cancels reach
the shop (note + tag by default, a real cancel only when the channel enables it)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from loguru import logger

from daemon.engine.codec import content_hash, from_payload, to_payload
from daemon.engine.context import FFN_CHANNEL, MerchantContext
from daemon.engine.cycle import CycleCounts
from daemon.engine.pull import pull_window
from daemon.engine.push import drain
from daemon.model import FulfillerStatus, OrderRef, OutboundStatus, Window
from daemon.store.snapshot import ENTITY_FSTATUS, ENTITY_ORDER, Claimed, OrderLocation, Pulled

SHOP_RELEVANT = frozenset({OutboundStatus.CANCELED, OutboundStatus.PARTIALLY_CANCELED})


async def run(ctx: MerchantContext, counts: CycleCounts) -> None:
    located: dict[str, OrderLocation | None] = {}

    async def source(window: Window) -> AsyncIterator[FulfillerStatus]:
        async for change in ctx.fulfiller.outbound_changes(window):
            located[change.outbound_id] = target = await ctx.snapshot.locate_order(change.outbound_id)
            if target is not None:
                await ctx.snapshot.set_remote_status(ENTITY_ORDER, change.outbound_id, change.status.value)
            yield change

    def to_rows(change: FulfillerStatus) -> list[tuple[str, Pulled]]:
        target = located.get(change.outbound_id)
        if target is None or change.status not in SHOP_RELEVANT:
            return []
        if target.cancelled_in_shop:
            return []  # our own cancel coming back
        payload = {"status": to_payload(change), "order_id": target.order_id, "number": target.number}
        key = f"{change.outbound_id}:{change.status.value}"
        return [
            (target.channel, Pulled(key, payload, content_hash(payload), target.number, change.updated_at))
        ]

    await pull_window(
        ctx,
        channel=FFN_CHANNEL,
        flow="status",
        entity=ENTITY_FSTATUS,
        settings=ctx.settings.ffn_cursor,
        source=source,
        to_rows=to_rows,
        counts=counts,
    )

    async def handle(item: Claimed) -> str:
        change = from_payload(FulfillerStatus, item.payload["status"])
        settings = ctx.settings.channel(item.channel)
        ref = OrderRef(item.payload["order_id"], item.payload["number"])
        await ctx.channels[item.channel].apply_order_status(
            ref, change, cancel_in_shop=settings.cancel_in_shop
        )
        await ctx.snapshot.done(item, now=ctx.clock.now())
        logger.warning(
            "fulfiller set outbound {} of order {} to {} ({}); shop informed{}",
            change.outbound_id,
            ref.number,
            change.status.value,
            change.cancel_reason or "no reason given",
            " and order cancelled" if settings.cancel_in_shop else " by note and tag",
        )
        return "pushed"

    await drain(ctx, channels=list(ctx.channels), entity=ENTITY_FSTATUS, handler=handle, counts=counts)
