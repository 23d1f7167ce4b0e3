"""Shipments: FFN shipping notifications → one fulfilment each in the order's shop, exactly once."""

from __future__ import annotations

from collections.abc import AsyncIterator

from loguru import logger

from daemon.engine.codec import from_payload
from daemon.engine.context import MerchantContext
from daemon.engine.cycle import CycleCounts, sync
from daemon.engine.flow import PUSHED, Cycle, Flow, Scope
from daemon.engine.flows.ffn_to_shop import Located, located, order_of, settle, shop_row
from daemon.engine.matching import match_shipment
from daemon.model import OrderRef, Shipment, ShopOrder, Window
from daemon.store.skus import skus_of
from daemon.store.snapshot import ENTITY_SHIPMENT, Claimed, Pulled, order_payloads


def read_shipments(cycle: Cycle, window: Window) -> AsyncIterator[Located[Shipment]]:
    return located(cycle, cycle.ctx.fulfiller.shipping_notifications(window))


def shipment_rows(cycle: Cycle, record: Located[Shipment]) -> list[tuple[str, Pulled]]:
    shipment, target = record
    if target is None:
        logger.debug(
            "shipment {} is for outbound {}, not exported by us", shipment.shipment_id, shipment.outbound_id
        )
        return []
    return [shop_row(target, shipment.shipment_id, "shipment", shipment, shipment.shipped_at)]


async def apply_shipment(cycle: Cycle, item: Claimed) -> str:
    ctx = cycle.ctx
    shipment = from_payload(Shipment, item.payload["shipment"])
    ref = order_of(item)
    order = from_payload(
        ShopOrder,
        (await order_payloads(ctx.pool, ctx.merchant_id, item.channel, [ref.order_id]))[ref.order_id],
    )
    jfskus = [line.jfsku for line in shipment.lines if line.jfsku]
    matched = match_shipment(shipment, order, await skus_of(ctx.pool, ctx.merchant_id, jfskus))
    await cycle.ctx.channels[item.channel].apply_shipment(OrderRef(order.order_id, order.number), matched)
    await settle(cycle, item)
    tracking = ", ".join(t.number for t in matched.trackings if t.number) or "no tracking"
    logger.info("fulfilled order {} ({} lines, {})", order.number, len(matched.lines), tracking)
    return PUSHED


SHIPMENTS = Flow(
    name="shipments",
    scope=Scope.MERCHANT,
    entity=ENTITY_SHIPMENT,
    cursor=True,
    source=read_shipments,
    rows=shipment_rows,
    handler=apply_shipment,
)


async def run(ctx: MerchantContext, counts: CycleCounts) -> None:
    await sync(ctx, SHIPMENTS, None, counts)
