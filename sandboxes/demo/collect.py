"""Reading the outcome back from the sandboxes (and the database) for the summary table."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from urllib.parse import quote

import asyncpg

from sandboxes.demo.stats import dead_letters, snapshot_latencies
from sandboxes.demo.summary import DemoSummary, ShopRow
from sandboxes.world.catalogue import CreatedOrder
from sandboxes.world.control import Control
from sandboxes.world.merchant import MERCHANT_ID
from sandboxes.world.shops import SHOPS

_PROBE_CONCURRENCY = 16


async def count_shipped_orders(control: Control, kind: str, orders: Sequence[CreatedOrder]) -> int:
    """Orders whose vendor JSON shows at least one shipment (fulfilment, tracked delivery, tracking item)."""
    gate = asyncio.Semaphore(_PROBE_CONCURRENCY)
    shipped = SHOPS[kind].shipped

    async def probe(order: CreatedOrder) -> int:
        async with gate:
            document = await control.get(f"orders/{quote(order.id, safe='')}")
        return 1 if shipped(document) else 0

    return sum(await asyncio.gather(*(probe(order) for order in orders)))


async def count_stock_writes(control: Control, kind: str) -> int:
    _, entries = await control.requests()
    return sum(1 for entry in entries if SHOPS[kind].is_stock_write(entry))


async def collect_summary(
    summary: DemoSummary,
    ffn: Control,
    shops: Mapping[str, Control],
    created: Sequence[CreatedOrder],
    pool: asyncpg.Pool,
) -> DemoSummary:
    outbounds = await ffn.get("outbounds")
    summary.ffn_outbounds = len(outbounds)
    summary.ffn_shipping_notifications = len(await ffn.get("shipping-notifications"))
    numbers = [str(o.get("merchantOutboundNumber", "")) for o in outbounds]
    for kind, control in shops.items():
        mine = [order for order in created if order.kind == kind]
        prefix = SHOPS[kind].order_prefix
        summary.shops.append(
            ShopRow(
                kind=kind,
                orders_created=len(mine),
                outbounds_in_ffn=sum(1 for n in numbers if n.startswith(prefix)),
                orders_shipped_in_shop=await count_shipped_orders(control, kind, mine),
                stock_writes=await count_stock_writes(control, kind),
            )
        )
    summary.dead_letters = await dead_letters(pool, MERCHANT_ID)
    summary.shipment_latencies_s = await snapshot_latencies(pool, MERCHANT_ID, "shipment")
    if not summary.order_latencies_s:
        summary.order_latencies_s = await snapshot_latencies(pool, MERCHANT_ID, "order")
    return summary
