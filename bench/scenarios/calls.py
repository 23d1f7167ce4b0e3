"""HTTP calls per order on Shopware, WooCommerce and FFN: an export and the write-back of its shipments.

Per shop kind, a world of its own: a backlog of paid orders is exported by one ``ffn-sync once``, then
FFN ships every outbound (one parcel with tracking each) and the next ``once`` writes the shipments back.
The sandboxes' request logs say what each step cost. A ``once`` also runs the flows that poll (feeds,
products, stock) and the reconcile pass, which re-reads the shop's recent orders: those calls are per run,
not per order, and shrink per order as the backlog grows.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from bench.daemon_proc import run_once
from bench.probes import log_position, synced_orders, traffic
from bench.report import Table
from bench.scenarios.common import LAG_RETRY_S, bench_stage, warm_world
from bench.sizes import Size
from sandboxes.world.catalogue import bounded, place_orders
from sandboxes.world.shops import SHOPS, ffn_is_read, ffn_is_write
from sandboxes.world.stage import Stage, staged

KINDS = ("shopware", "woocommerce")
CATALOGUE = 30
_ID = re.compile(r"/(?:[0-9a-f]{32}|\d+)(?=/|$)")

Entries = list[dict[str, Any]]


async def run(size: Size, wanted: set[str]) -> list[Table]:
    table = Table(
        "calls",
        f"{size.calls_orders:,} paid orders per shop kind, each kind in a world of its own: one `ffn-sync once` "
        "exports them, FFN ships every outbound (one parcel with tracking), the next `once` writes the "
        "shipments back. Calls counted in the sandboxes' request logs; a `once` also polls the feeds and "
        "runs the reconcile pass (per run, not per order).",
    )
    for kind in KINDS:
        async with staged(bench_stage([kind])) as stage:
            await _measure(stage, kind, size.calls_orders, table)
    return [table]


async def _measure(stage: Stage, kind: str, count: int, table: Table) -> None:
    products, _ = await warm_world(stage, CATALOGUE)
    await place_orders(stage.shops[kind], kind, products, count)
    await asyncio.sleep(LAG_RETRY_S)
    shop, ffn = await _counted(stage, kind, functools.partial(run_once, stage, f"calls-{kind}-export"))
    exported = await synced_orders(stage)
    is_read, is_write = SHOPS[kind].is_read, SHOPS[kind].is_write
    per = max(1, exported)
    table.add(f"{kind}: orders exported", f"{exported:,} / {count:,}", "")
    table.add(f"{kind}: shop calls per exported order", len(shop) / per, _split(shop, is_read, is_write))
    table.add(
        f"{kind}: FFN calls per exported order",
        len(ffn) / per,
        f"{sum(map(ffn_is_write, ffn))} writes, {sum(map(ffn_is_read, ffn))} reads",
    )
    table.notes.append(f"{kind} export, shop: {_routes(shop)}")

    outbounds = await stage.ffn.get("outbounds")
    ship = [functools.partial(stage.ffn.post, f"outbounds/{o['outboundId']}/ship", {}) for o in outbounds]
    await bounded(ship)
    await asyncio.sleep(LAG_RETRY_S)
    shop, ffn = await _counted(stage, kind, functools.partial(run_once, stage, f"calls-{kind}-shipments"))
    shipped = await _written_back(stage)
    per = max(1, shipped)
    table.add(f"{kind}: shipments written back", f"{shipped:,} / {len(outbounds):,}", "")
    table.add(f"{kind}: shop calls per shipment", len(shop) / per, _split(shop, is_read, is_write))
    table.add(f"{kind}: FFN calls per shipment", len(ffn) / per, f"{sum(map(ffn_is_read, ffn))} reads")
    table.notes.append(f"{kind} write-back, shop: {_routes(shop)}")


async def _counted(stage: Stage, kind: str, step: Callable[[], Awaitable[object]]) -> tuple[Entries, Entries]:
    """(shop calls, FFN calls) made while ``step`` ran; token requests count, control calls do not."""
    shop_control, ffn_control = stage.shops[kind], stage.ffn
    shop_since, ffn_since = await log_position(shop_control), await log_position(ffn_control)
    await step()
    shop = [e for e in await traffic(shop_control, shop_since) if not e["path"].startswith("/_sandbox")]
    ffn = [e for e in await traffic(ffn_control, ffn_since) if not e["path"].startswith("/_sandbox")]
    return shop, ffn


async def _written_back(stage: Stage) -> int:
    value = await stage.pool.fetchval(
        "SELECT count(*) FROM snapshot WHERE entity = 'shipment' AND state = 'synced'"
    )
    return int(value or 0)


def _split(entries: Entries, is_read: Callable[[Any], bool], is_write: Callable[[Any], bool]) -> str:
    return f"{sum(map(is_read, entries))} reads, {sum(map(is_write, entries))} writes"


def _routes(entries: Entries) -> str:
    counted = Counter(f"{e['method']} {_ID.sub('/{id}', str(e['path']))}" for e in entries)
    return ", ".join(f"{n} × {route}" for route, n in counted.most_common())
