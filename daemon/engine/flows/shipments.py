"""Shipments: FFN shipping notifications → one fulfilment each in the order's shop, exactly once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

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

_PREPARED = "shipments"


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


@dataclass
class _Known:
    """What the handlers of one claimed batch read from our own tables, read for the batch at once."""

    orders: dict[tuple[str, str], dict[str, Any]] = field(
        default_factory=dict
    )  # (channel, order id) → payload
    skus: dict[str, str] = field(default_factory=dict)  # jfsku → SKU


async def prepare_shipments(cycle: Cycle, batch: list[Claimed]) -> None:
    """The stored orders and the SKUs of a claimed batch in one statement each (was two per shipment)."""
    ctx = cycle.ctx
    known = _Known()
    by_channel: dict[str, set[str]] = {}
    for item in batch:
        by_channel.setdefault(item.channel, set()).add(str(item.payload["order_id"]))
    for channel, order_ids in by_channel.items():
        found = await order_payloads(ctx.pool, ctx.merchant_id, channel, sorted(order_ids))
        known.orders.update(((channel, order_id), payload) for order_id, payload in found.items())
    jfskus = {line.get("jfsku") for item in batch for line in item.payload["shipment"].get("lines") or []}
    known.skus = await skus_of(ctx.pool, ctx.merchant_id, sorted(j for j in jfskus if j))
    cycle.prepared[_PREPARED] = known


async def apply_shipment(cycle: Cycle, item: Claimed) -> str:
    ctx = cycle.ctx
    shipment = from_payload(Shipment, item.payload["shipment"])
    ref = order_of(item)
    known = cycle.prepared.get(_PREPARED)
    payload = known.orders.get((item.channel, ref.order_id)) if isinstance(known, _Known) else None
    if payload is None:
        payload = (await order_payloads(ctx.pool, ctx.merchant_id, item.channel, [ref.order_id]))[
            ref.order_id
        ]
    order = from_payload(ShopOrder, payload)
    jfskus = [line.jfsku for line in shipment.lines if line.jfsku]
    if isinstance(known, _Known) and all(j in known.skus for j in jfskus):
        skus = {j: known.skus[j] for j in jfskus}
    else:
        skus = await skus_of(ctx.pool, ctx.merchant_id, jfskus)
    matched = match_shipment(shipment, order, skus)
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
    prepare=prepare_shipments,
    moves_stock=True,  # a shipped outbound stops reserving
)


async def run(ctx: MerchantContext, counts: CycleCounts) -> None:
    await sync(ctx, SHIPMENTS, None, counts)
