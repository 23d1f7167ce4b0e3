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
from daemon.engine.skus import sku_map_by_jfsku
from daemon.engine.snapshot import ENTITY_ORDER, ENTITY_SHIPMENT, Claimed, OrderLocation, Pulled
from daemon.model import OrderRef, Shipment, ShopOrder, Window


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
        order_row = await ctx.pool.fetchrow(
            "SELECT payload FROM snapshot WHERE merchant_id = $1 AND channel = $2 AND entity = $3 AND external_id = $4",
            ctx.merchant_id,
            item.channel,
            ENTITY_ORDER,
            order_id,
        )
        order = from_payload(ShopOrder, order_row["payload"])
        jfskus = [line.jfsku for line in shipment.lines if line.jfsku]
        matched = match_shipment(shipment, order, await sku_map_by_jfsku(ctx, jfskus))
        await ctx.channels[item.channel].apply_shipment(OrderRef(order.order_id, order.number), matched)
        await ctx.snapshot.done(item, now=ctx.clock.now())
        tracking = ", ".join(t.number for t in matched.trackings if t.number) or "no tracking"
        logger.info("fulfilled order {} ({} lines, {})", order.number, len(matched.lines), tracking)
        return "pushed"

    await drain(ctx, channels=list(ctx.channels), entity=ENTITY_SHIPMENT, handler=handle, counts=counts)
