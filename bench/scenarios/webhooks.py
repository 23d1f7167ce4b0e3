"""Webhooks: order → FFN latency per shop with webhooks on, next to polling alone, and the daemon's CPU per
1,000 deliveries.

Both runs are ``ffn-sync run`` with the production polling defaults (orders every 60 s, cursor lag 5 s) and
the same steady order stream over every shop; the second run adds ``[webhooks]`` and ``webhooks = true`` on
every channel, so the sandboxes deliver to the daemon's receiver. CPU per 1,000 deliveries is the second
run's CPU above the first one's (the same orders exported), divided by the deliveries the receiver answered.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
from dataclasses import replace

from bench.daemon_proc import DaemonProcess, ProcessCost
from bench.probes import traffic
from bench.report import Table, verdict
from bench.scenarios.catchup import _points_by_operation
from bench.scenarios.common import bench_stage, warm_world
from bench.scenarios.latency import _order_latencies
from bench.sizes import Size
from sandboxes.demo.stats import percentile
from sandboxes.shopify.webhooks import TEST_APP_SECRET
from sandboxes.world.catalogue import CreatedOrder, Product, order_stream
from sandboxes.world.errors import WorldError
from sandboxes.world.merchant import Timing
from sandboxes.world.shops import SHOPS
from sandboxes.world.stage import Stage, staged

CATALOGUE = 30
POLLING_S = 60.0  # the production default for orders
LAG_S = 5.0  # the production default cursor lag
TARGET_S = 3.0
APP_SECRET_ENV = "FFN_SYNC_BENCH_SHOPIFY_APP_SECRET"
# Warm-up (`ffn-sync once` bringing the catalogue to FFN) runs without lag; the streams then with LAG_S.
TIMING = replace(Timing.production(), orders_s=POLLING_S, lag_s=0.0)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def with_webhooks(config: str, port: int) -> str:
    """The stage's config with the receiver on ``port`` and webhooks on for every channel."""
    config = re.sub(r'^(kind = "\w+")$', r"\1\nwebhooks = true", config, flags=re.MULTILINE)
    config = re.sub(
        r"^(access_token = .*)$", rf'\1\nwebhook_secret = "env:{APP_SECRET_ENV}"', config, flags=re.MULTILINE
    )
    return config + f'\n[webhooks]\nport = {port}\npublic_url = "http://127.0.0.1:{port}"\n'


# What reads orders (a trickle: paged full reads, listings of covered windows, counts, hold re-checks).
ORDER_READS = frozenset(
    {"ChangedOrders", "PollOrders", "Order", "OrderFulfilmentOrders", "FulfillmentOrderLines"}
    | {"OrderVersions", "OrdersCount", "WaitingOrders"}
    | {"RunBulkQuery", "BulkOperation", "BulkOperations", "CurrentBulkOperation"}
)


async def run(size: Size, wanted: set[str]) -> list[Table]:
    # Two fresh worlds: the second run must not start by re-reading the first one's orders (the full
    # overlap after a start), which on Shopify's cost budget alone takes longer than the stream.
    async with staged(bench_stage(None, TIMING)) as stage:
        polling, polling_cost = await _run_mode(stage, size, "polling")
        points = [await _shopify_points(stage)]
    async with staged(bench_stage(None, TIMING)) as stage:
        hooked, hooked_cost = await _run_mode(stage, size, "webhooks")
        points.append(await _shopify_points(stage))
        spent_by = (
            _points_by_operation(await traffic(stage.shops["shopify"], 0)) if "shopify" in stage.shops else {}
        )
        deliveries = 0
        for control in stage.shops.values():
            attempts = (await control.get("webhooks"))["attempts"]
            deliveries += sum(1 for a in attempts if 200 <= a["status"] < 300)
        shops = ", ".join(stage.shops)
    table = _table(size, shops, polling, polling_cost, hooked, hooked_cost, deliveries)
    if all(p is not None for p in points):
        table.add(
            "Shopify query points spent / requests, polling → webhooks",
            " → ".join(f"{p[0]:.0f} / {p[1]}" for p in points if p is not None),
            "the sandbox's standard-plan bucket refills 100 points/s",
        )
    if spent_by:
        top = sorted(spent_by.items(), key=lambda kv: -kv[1])[:6]
        table.add(
            "Shopify points by operation, webhooks", ", ".join(f"{k} {v:.0f}" for k, v in top), "largest six"
        )
        reads = sum(v for k, v in spent_by.items() if k in ORDER_READS)
        placed = len(hooked.get("shopify") or [])
        table.add(
            "Shopify order-read points per order, webhooks",
            f"{reads / placed:.1f}" if placed else "-",
            f"{reads:.0f} points over {placed} orders: " + ", ".join(sorted(ORDER_READS)),
        )
    return [table]


async def _shopify_points(stage: Stage) -> tuple[float, int] | None:
    control = stage.shops.get("shopify")
    if control is None:
        return None
    cost = await control.get("cost")
    return float(cost["actual_total"]), int(cost["requests"])


async def _run_mode(stage: Stage, size: Size, mode: str) -> tuple[dict[str, list[float]], ProcessCost]:
    products, _ = await warm_world(stage, CATALOGUE)
    config = re.sub(r"^lag_s = .*$", f"lag_s = {LAG_S}", stage.config_path.read_text(), flags=re.MULTILINE)
    if mode == "webhooks":
        config = with_webhooks(config, _free_port())
        stage.env[APP_SECRET_ENV] = TEST_APP_SECRET
    stage.config_path.write_text(config)
    return await _stream(stage, size, products, mode)


def _table(
    size: Size,
    shops: str,
    polling: dict[str, list[float]],
    polling_cost: ProcessCost,
    hooked: dict[str, list[float]],
    hooked_cost: ProcessCost,
    deliveries: int,
) -> Table:
    table = Table(
        "webhooks",
        f"`ffn-sync run` polling orders every {POLLING_S:g} s with cursor lag {LAG_S:g} s (the production "
        f"defaults), {size.latency_rate:g} orders/s for {size.latency_seconds:g} s over {shops}; "
        "once polling alone, once with webhooks on (the sandboxes deliver to the receiver).",
    )
    per_shop = [p for values in hooked.values() if (p := percentile(values, 0.99)) is not None]
    worst = max(per_shop) if per_shop else None
    table.add(
        "order → FFN p99 with webhooks, slowest shop (s)",
        worst if worst is not None else "-",
        f"≤ {TARGET_S:g} s on every shop: {verdict(worst is not None and worst <= TARGET_S)}",
    )
    for kind in sorted(set(polling) | set(hooked)):
        before, after = polling.get(kind, []), hooked.get(kind, [])
        table.add(
            f"order → FFN {kind} p50 / p99 (s), polling → webhooks",
            f"{percentile(before, 0.5) or 0:.2f} / {percentile(before, 0.99) or 0:.2f} → "
            f"{percentile(after, 0.5) or 0:.2f} / {percentile(after, 0.99) or 0:.2f}",
            f"n={len(before)} / {len(after)}",
        )
    extra = max(0.0, hooked_cost.cpu_s - polling_cost.cpu_s)
    table.add("deliveries answered 2xx", deliveries, "")
    table.add(
        "daemon CPU s polling / webhooks",
        f"{polling_cost.cpu_s:.1f} / {hooked_cost.cpu_s:.1f}",
        "same orders exported in both runs",
    )
    table.add(
        "daemon CPU s per 1,000 deliveries",
        f"{extra / deliveries * 1000:.2f}" if deliveries else "-",
        "receiving, authenticating and the nudged runs they cause",
    )
    return table


async def _stream(
    stage: Stage, size: Size, products: list[Product], name: str
) -> tuple[dict[str, list[float]], ProcessCost]:
    """One daemon run with a steady order stream; per shop kind the order latencies of this run."""
    daemon = DaemonProcess(stage, "run", name)
    created: list[CreatedOrder] = []
    try:
        if name == "webhooks":
            await _registered(stage, daemon)
        else:
            await asyncio.sleep(3.0)  # the first poll (start + up to 2 s spread) comes before the stream
        until = time.monotonic() + size.latency_seconds
        await order_stream(stage.shops, products, size.latency_rate, until, created, announce=False)
        await _exported(stage, created, timeout_s=POLLING_S + LAG_S + 15)
    finally:
        cost = await daemon.finish(stop=True)
    return await _order_latencies(stage, created), cost


async def _registered(stage: Stage, daemon: DaemonProcess, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        hooks = [await control.get("webhooks") for control in stage.shops.values()]
        if all(h["subscriptions"] for h in hooks):
            return
        await asyncio.sleep(0.2)
    raise WorldError(f"webhooks not registered at every shop within {timeout_s:.0f} s:\n{daemon.log_tail()}")


async def _exported(stage: Stage, created: list[CreatedOrder], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        numbers = {str(o["merchantOutboundNumber"]) for o in await stage.ffn.get("outbounds")}
        if all(SHOPS[o.kind].order_prefix + o.number in numbers for o in created):
            return
        await asyncio.sleep(0.5)
