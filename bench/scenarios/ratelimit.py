"""Rate limits: a backlog against the Shopify sandbox's cost bucket (2000 points, 100 restored per second).

While the backlog is read, the bucket's accounting (``GET /_sandbox/cost``) is sampled; the share of the
restore rate used is the points spent over what the bucket made available in that period (restored points
plus what it held at the start minus what it still holds at the end).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from bench.daemon_proc import DaemonProcess
from bench.probes import synced_orders
from bench.report import Table, verdict
from bench.scenarios.common import LAG_RETRY_S, bench_stage, warm_world
from bench.sizes import Size
from sandboxes.world.catalogue import place_orders
from sandboxes.world.control import Control
from sandboxes.world.errors import WorldError
from sandboxes.world.stage import staged

SHOP = "shopify"
CATALOGUE = 30
SAMPLE_S = 0.25


@dataclass(frozen=True)
class Sample:
    at: float
    requests: int
    throttled: int
    spent: float
    available: float
    restore_rate: float


async def _sample(control: Control) -> Sample:
    cost: dict[str, Any] = await control.get("cost")
    return Sample(
        at=time.monotonic(),
        requests=int(cost["requests"]),
        throttled=int(cost["throttled"]),
        spent=float(cost["actual_total"]),
        available=float(cost["currentlyAvailable"]),
        restore_rate=float(cost["restoreRate"]),
    )


async def run(size: Size, wanted: set[str]) -> list[Table]:
    async with staged(bench_stage([SHOP])) as stage:
        shop = stage.shops[SHOP]
        products, _ = await warm_world(stage, CATALOGUE)
        orders = await place_orders(shop, SHOP, products, size.ratelimit_orders)
        await asyncio.sleep(LAG_RETRY_S)
        samples = [await _sample(shop)]
        daemon = DaemonProcess(stage, "once", "ratelimit")
        while daemon.running():
            await asyncio.sleep(SAMPLE_S)
            samples.append(await _sample(shop))
        cost = await daemon.finish()
        if cost.exit_code != 0:
            raise WorldError(f"`ffn-sync once` exited {cost.exit_code}; log {daemon.log_path}")
        samples.append(await _sample(shop))
        exported = await synced_orders(stage)
    return [_table(size, len(orders), exported, samples)]


def _busy_span(samples: list[Sample]) -> tuple[Sample, Sample]:
    """From the last sample before Shopify traffic began to the first one after it stopped."""
    first = next((i for i in range(1, len(samples)) if samples[i].requests > samples[i - 1].requests), 1)
    last = max(
        (i for i in range(1, len(samples)) if samples[i].requests > samples[i - 1].requests), default=1
    )
    return samples[first - 1], samples[last]


def _table(size: Size, placed: int, exported: int, samples: list[Sample]) -> Table:
    start, end = _busy_span(samples)
    span = max(1e-6, end.at - start.at)
    spent = end.spent - start.spent
    offered = end.restore_rate * span + max(0.0, start.available - end.available)
    share = spent / offered if offered else 0.0
    requests = end.requests - start.requests
    throttled = end.throttled - start.throttled
    throttled_share = throttled / requests if requests else 0.0
    table = Table(
        "ratelimit",
        f"{placed:,} paid orders waiting in the Shopify sandbox (standard bucket: 2000 points, 100/s); "
        "one `ffn-sync once` reads and exports them. Bucket sampled every "
        f"{SAMPLE_S:g} s through `GET /_sandbox/cost`.",
    )
    table.add("orders exported", f"{exported:,} / {placed:,}", verdict(exported == placed))
    table.add("Shopify busy span (s)", span, "first to last GraphQL call")
    table.add("points spent", spent, "")
    per_order = spent / exported if exported else 0.0
    table.add(
        "points per exported order",
        f"{per_order:.1f}",
        f"≤ 12: {verdict(bool(exported) and per_order <= 12)}",
    )
    table.add("share of restore rate used", f"{share:.0%}", f"≥ 90 %: {verdict(share >= 0.9)}")
    table.add("GraphQL calls", requests, "")
    table.add(
        "THROTTLED answers",
        f"{throttled} ({throttled_share:.1%})",
        f"< 1 %: {verdict(throttled_share < 0.01)}",
    )
    return table
