"""Shipments: FFN shipping notifications → one fulfilment each in the order's shop, exactly once."""

from __future__ import annotations

from collections.abc import AsyncIterator

from loguru import logger

from daemon.engine.codec import content_hash, from_payload, to_payload
from daemon.engine.context import FFN_CHANNEL, MerchantContext
from daemon.engine.cycle import CycleCounts
from daemon.engine.matching import match_shipment
from daemon.engine.pull import pull_window
from daemon.engine.push import drain
from daemon.model import OrderRef, Shipment, ShopOrder, Window
from daemon.store.skus import skus_of
from daemon.store.snapshot import ENTITY_SHIPMENT, Claimed, OrderLocation, Pulled, order_payloads


async def run(ctx: MerchantContext, counts: CycleCounts) -> None:
    located: dict[str, OrderLocation | None] = {}

    async def source(window: Window) -> AsyncIterator[Shipment]:
        async for shipment in ctx.fulfiller.shipping_notifications(window):
            if shipment.outbound_id not in located:
                located[shipment.outbound_id] = await ctx.snapshot.locate_order(shipment.outbound_id)
            yield shipment

    def to_rows(shipment: Shipment) -> list[tuple[str, Pulled]]:
        target = located.get(shipment.outbound_id)
        if target is None:
            logger.debug(
                "shipment {} is for outbound {}, not exported by us",
                shipment.shipment_id,
                shipment.outbound_id,
            )
            return []
        payload = {"shipment": to_payload(shipment), "order_id": target.order_id, "number": target.number}
        return [
            (
                target.channel,
                Pulled(
                    shipment.shipment_id, payload, content_hash(payload), target.number, shipment.shipped_at
                ),
            )
        ]

    await pull_window(
        ctx,
        channel=FFN_CHANNEL,
        flow="shipments",
        entity=ENTITY_SHIPMENT,
        settings=ctx.settings.ffn_cursor,
        source=source,
        to_rows=to_rows,
        counts=counts,
    )

    async def handle(item: Claimed) -> str:
        shipment = from_payload(Shipment, item.payload["shipment"])
        order_id = item.payload["order_id"]
        payloads = await order_payloads(ctx.pool, ctx.merchant_id, item.channel, [order_id])
        order = from_payload(ShopOrder, payloads[order_id])
        jfskus = [line.jfsku for line in shipment.lines if line.jfsku]
        matched = match_shipment(shipment, order, await skus_of(ctx.pool, ctx.merchant_id, jfskus))
        await ctx.channels[item.channel].apply_shipment(OrderRef(order.order_id, order.number), matched)
        await ctx.snapshot.done(item, now=ctx.clock.now())
        tracking = ", ".join(t.number for t in matched.trackings if t.number) or "no tracking"
        logger.info("fulfilled order {} ({} lines, {})", order.number, len(matched.lines), tracking)
        return "pushed"

    await drain(ctx, channels=list(ctx.channels), entity=ENTITY_SHIPMENT, handler=handle, counts=counts)
