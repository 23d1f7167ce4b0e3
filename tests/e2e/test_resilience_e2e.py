"""Convergence under injected faults, and crash safety of the real daemon process under SIGKILL."""

from __future__ import annotations

import asyncio
import random
import signal
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import pytest

from tests.e2e.stack import PLUS, Stack, stack
from tests.e2e.world import by_number, new_order, outbounds, ref, seed_catalogue, shop_order


async def converge(s: Stack, done: Callable[[], Awaitable[bool]], passes: int = 25) -> None:
    for _ in range(passes):
        await s.settle(1)
        if await done():
            return
    raise AssertionError("the world did not converge")


async def fulfilled_exactly_once(s: Stack, orders: list[dict[str, object]]) -> None:
    notifications = await s.control(s.ffn, "GET", "shipping-notifications")
    per_outbound: dict[str, int] = {}
    for n in notifications:
        per_outbound[n["merchantOutboundNumber"]] = per_outbound.get(n["merchantOutboundNumber"], 0) + 1
    shop = next(iter(s.shops.values()))
    for order in orders:
        fulfilments = (await shop_order(s, shop, ref(order)))["fulfillments"]
        assert len(fulfilments) == per_outbound.get(f"SH-{order['number']}", 0), order["number"]


@pytest.mark.timeout(300)
async def test_everything_converges_with_20_percent_faults_and_latency(tmp_path: Path, pg_dsn: str) -> None:
    rng = random.Random(3)
    async with stack(tmp_path, pg_dsn, ["shopify"], shop_knobs=PLUS) as s:
        for ctx in s.runtime.contexts:
            ctx.settings = replace(ctx.settings, retry_base_s=0.5)
        shop = s.shops["shopify-main"]
        await seed_catalogue(s, shop)
        orders = [await new_order(s, shop, rng) for _ in range(40)]
        for sandbox in (s.ffn, shop):
            await s.control(
                sandbox, "PUT", "faults",
                {"rate": 0.2, "statuses": [429, 503], "latency_ms": 5, "retry_after_s": 0.2, "seed": 11},
            )  # fmt: skip

        async def all_exported() -> bool:
            return len(await outbounds(s)) == len(orders)

        await converge(s, all_exported)
        for outbound in await outbounds(s):
            await s.control(s.ffn, "POST", f"outbounds/{outbound['outboundId']}/ship", {"packages": 1})

        async def all_fulfilled() -> bool:
            for order in orders:
                if not (await shop_order(s, shop, ref(order)))["fulfillments"]:
                    return False
            return True

        await converge(s, all_fulfilled)
        injected = [r for r in await s.requests(s.ffn) + await s.requests(shop) if r["injected"]]
        assert len(injected) > 20  # the faults really happened
        assert len(by_number(await outbounds(s))) == len(orders)
        await fulfilled_exactly_once(s, orders)


async def _run_daemon_until_killed(s: Stack, log: Path, seconds: float) -> None:
    proc = await s.stage.spawn_daemon(log)
    try:
        await asyncio.wait_for(proc.wait(), timeout=seconds)
    except TimeoutError:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    assert proc.returncode == -signal.SIGKILL, f"daemon exited by itself ({proc.returncode}); see {log}"


@pytest.mark.timeout(420)
async def test_sigkill_at_random_moments_never_duplicates_or_loses_anything(
    tmp_path: Path, pg_dsn: str
) -> None:
    rng = random.Random(20)
    # Kills are to land between claim, export and write-back: the 500 orders are read page by page, so each
    # short life gets to them. A bulk read (what a window of 500 would get) is seconds of waiting for the
    # operation before the first order, which a loaded machine stretches past a 2-5 s life; the bulk read's
    # own restarts are tests/adapters/shopify/test_bulk_reads.py's.
    async with stack(
        tmp_path, pg_dsn, ["shopify"], shop_knobs=PLUS, channel_fields={"bulk_read_min_orders": 100_000}
    ) as s:
        shop = s.shops["shopify-main"]
        await seed_catalogue(s, shop)
        orders = [await new_order(s, shop, rng) for _ in range(500)]
        await s.control(s.ffn, "PUT", "autopilot", {"ship_after_s": 1, "partial_ratio": 0.3})
        log = tmp_path / "daemon.log"
        async with s.daemon_processes():
            for _ in range(20):
                await _run_daemon_until_killed(s, log, rng.uniform(2.0, 5.0))

        # The killed daemons did real work (not only the clean-up pass below): alone this is ~100 outbounds;
        # on a loaded CI machine start-up eats more of each 2-5 s life, so the bar is what proves kills hit
        # work in flight, not a throughput figure (that is bench/'s job).
        assert len(await outbounds(s)) > 20
        assert len(await s.control(s.ffn, "GET", "shipping-notifications")) > 10
        await s.control(s.ffn, "PUT", "autopilot", {"ship_after_s": 0, "partial_ratio": 0})
        for outbound in await outbounds(s):  # whatever the autopilot left: ship the rest now
            if outbound["status"] in ("Pending", "PartiallyShipped"):
                await s.control(s.ffn, "POST", f"outbounds/{outbound['outboundId']}/ship", {"packages": 1})
        # Claims held by killed processes expire; then a clean pass settles everything.
        for ctx in s.runtime.contexts:
            await ctx.pool.execute("UPDATE snapshot SET next_attempt_at = now() WHERE state = 'pending'")

        async def settled() -> bool:
            return len(await outbounds(s)) == len(orders)

        await converge(s, settled, passes=10)
        await s.settle(2)
        assert len(by_number(await outbounds(s))) == 500
        await fulfilled_exactly_once(s, orders)
