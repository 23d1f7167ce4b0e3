"""Catch-up: a large Shopify backlog read with one bulk operation instead of pages (issue 18).

The world is warmed up (catalogue in FFN, stock booked, the orders cursor set), then N paid orders are placed
in the Shopify sandbox (standard bucket: 2000 points, 100 restored per second), and the operator runs
``ffn-sync resync --since <2 days ago> --flow orders``: the orders cursor moves back two days and the orders
flow reads the whole backlog — over the channel's ``bulk_catch_up_after`` (6 h by default), so through
``bulkOperationRunQuery`` — and exports it.
The bucket is sampled as in the ratelimit scenario; the target is no THROTTLED answer at all.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from bench.daemon_proc import DaemonProcess, ProcessCost
from bench.probes import log_position, synced_orders, traffic
from bench.report import Table, verdict
from bench.scenarios.common import LAG_RETRY_S, bench_stage, warm_world
from bench.scenarios.ratelimit import SAMPLE_S, Sample, _busy_span, _sample
from bench.sizes import Size
from sandboxes.world.catalogue import place_orders
from sandboxes.world.errors import WorldError
from sandboxes.world.stage import staged

SHOP = "shopify"
CATALOGUE = 30
# A paged read of one order: 18 points for one line by the documented rules (tests/adapters/shopify/
# test_cost_rules.py) plus 4 per further line; the bench's orders average 1.75 lines.
PAGED_POINTS_PER_ORDER = 21


async def run(size: Size, wanted: set[str]) -> list[Table]:
    async with staged(bench_stage([SHOP])) as stage:
        shop = stage.shops[SHOP]
        products, _ = await warm_world(stage, CATALOGUE)
        orders = await place_orders(shop, SHOP, products, size.catchup_orders)
        await asyncio.sleep(LAG_RETRY_S)
        resync_since = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S")
        before = {op["id"] for op in (await shop.get("bulk"))["operations"]}
        since = await log_position(shop)
        samples = [await _sample(shop)]
        daemon = DaemonProcess(stage, "resync", "catchup", ["--since", resync_since, "--flow", "orders"])
        while daemon.running():
            await asyncio.sleep(SAMPLE_S)
            samples.append(await _sample(shop))
        cost = await daemon.finish()
        if cost.exit_code != 0:
            raise WorldError(f"`ffn-sync resync` exited {cost.exit_code}; log {daemon.log_path}")
        samples.append(await _sample(shop))
        exported = await synced_orders(stage)
        operations = [op for op in (await shop.get("bulk"))["operations"] if op["id"] not in before]
        spent_by = _points_by_operation(await traffic(shop, since))
    return [_table(len(orders), exported, samples, operations, spent_by, cost)]


def _points_by_operation(entries: list[dict[str, Any]]) -> dict[str, float]:
    """Actual points per GraphQL operation name, from the sandbox's request log."""
    spent: dict[str, float] = {}
    for entry in entries:
        if not entry["path"].endswith("/graphql.json"):
            continue
        try:
            query = str(orjson.loads(entry["request_body"]).get("query") or "")
            actual = orjson.loads(entry["response_body"])["extensions"]["cost"]["actualQueryCost"] or 0
        except (orjson.JSONDecodeError, KeyError, TypeError):
            continue  # a truncated log body: left out of the breakdown
        words = query.replace("(", " ").replace("{", " ").split()
        name = words[1] if len(words) > 1 and words[0] in ("query", "mutation") else "?"
        spent[name] = spent.get(name, 0.0) + float(actual)
    return spent


def _table(
    placed: int,
    exported: int,
    samples: list[Sample],
    operations: list[dict[str, Any]],
    spent_by: dict[str, float],
    cost: ProcessCost,
) -> Table:
    start, end = _busy_span(samples)
    requests = end.requests - start.requests
    throttled = end.throttled - start.throttled
    spent = end.spent - start.spent
    objects = sum(int(op.get("objectCount") or 0) for op in operations)
    table = Table(
        "catchup",
        f"{placed:,} paid orders waiting in the Shopify sandbox (standard bucket: 2000 points, 100/s); the "
        "operator runs `ffn-sync resync --since <2 days ago> --flow orders`: one bulk operation catches up "
        f"(bulk_catch_up_after 6 h). Bucket sampled every {SAMPLE_S:g} s.",
    )
    table.add("orders exported", f"{exported:,} / {placed:,}", verdict(exported == placed))
    table.add(
        "bulk operations",
        ", ".join(f"{op['status']} ({op['objectCount']:,} objects)" for op in operations) or "none",
        verdict(len(operations) == 1 and operations[0]["status"] == "COMPLETED"),
    )
    table.add(
        "JSONL objects read",
        objects,
        "orders, shipping lines, fulfillment orders and their lines (with the line item)",
    )
    table.add("THROTTLED answers", throttled, f"0: {verdict(throttled == 0)}")
    table.add("GraphQL calls", requests, "")
    table.add(
        "points spent",
        spent,
        f"paged read at ~{PAGED_POINTS_PER_ORDER}/order: ~{placed * PAGED_POINTS_PER_ORDER:,}",
    )
    table.add("points per exported order", spent / exported if exported else 0.0, "")
    top = sorted(spent_by.items(), key=lambda kv: -kv[1])[:5]
    table.add(
        "points by operation", ", ".join(f"{name} {points:,.0f}" for name, points in top), "largest five"
    )
    table.add(
        "daemon wall time (s)",
        cost.wall_s,
        f"paged at 100 points/s: ≥ {placed * PAGED_POINTS_PER_ORDER / 100:,.0f} s",
    )
    table.add("daemon CPU (s)", cost.cpu_s, "")
    table.add(
        "daemon peak RSS (MB)",
        cost.peak_rss_mb,
        "streamed: one order of the grouped result in memory at a time",
    )
    return table
