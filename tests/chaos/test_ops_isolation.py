"""One shop's trouble stays with that shop: a hung shop, a shop with revoked credentials."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any

import pytest
from loguru import logger

from daemon.clock import FakeClock
from daemon.config import load_config
from daemon.jobrunner import JobRunner
from daemon.scheduler import SyncScheduler
from daemon.wiring import build_runtime
from tests.chaos.ops_world import blackhole, write_merchant
from tests.e2e.stack import PLUS, stack
from tests.e2e.world import new_order, outbounds, ref, seed_catalogue, shop_order

SHOP_STOCK_S = 3.0


async def _wait_for(predicate_s: float, check: object) -> float | None:
    """Seconds until ``check()`` is true, or None after ``predicate_s``."""
    started = time.monotonic()
    while time.monotonic() - started < predicate_s:
        if await check():  # type: ignore[operator]
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    return None


@pytest.mark.timeout(120)
async def test_a_shop_that_never_answers_delays_only_itself(tmp_path: Path, pg_dsn: str) -> None:
    async with blackhole() as hung, stack(tmp_path, pg_dsn, ["shopify"], shop_knobs=PLUS) as s:
        healthy = s.shops["shopify-main"]
        await seed_catalogue(s, healthy)
        await s.settle(1)  # the products reach FFN
        # A second shop of the merchant that accepts connections and never answers; it comes first,
        # where a merchant-wide loop over the shops meets it first.
        write_merchant(
            s.config_path,
            s.ffn.url,
            [("shopware-main", "shopware", hung.url), ("shopify-main", "shopify", healthy.url)],
            product_master="shopify-main",
            shop_stock_s=SHOP_STOCK_S,
        )
        config = load_config(s.config_path, environ=s.env)
        await s.runtime.aclose()
        s.runtime = await build_runtime(config, s.db)
        scheduler = SyncScheduler()
        scheduler.start(s.runtime.jobs)
        try:

            async def shop_has(sku: str, level: int) -> bool:
                return bool((await s.control(healthy, "GET", "stock")).get(sku) == level)

            for level in (11, 17, 4):
                await s.control(s.ffn, "PUT", "stock/MUG", {"level": level})
                took = await _wait_for(30, lambda level=level: shop_has("MUG", level))
                assert took is not None and took <= 2 * SHOP_STOCK_S, f"MUG={level} took {took}s"
                print(f"healthy shop has MUG={level} after {took:.1f}s (limit {2 * SHOP_STOCK_S:g}s)")
            assert hung.connections > 0  # the hung shop was really asked, and really hung
        finally:
            await scheduler.stop(1)


@pytest.mark.timeout(120)
async def test_stock_writes_to_a_shop_with_revoked_credentials_back_off(tmp_path: Path, pg_dsn: str) -> None:
    async with stack(tmp_path, pg_dsn, ["shopify"], shop_knobs=PLUS) as s:
        shop = s.shops["shopify-main"]
        await seed_catalogue(s, shop)
        await s.settle(1)
        await s.control(s.ffn, "PUT", "stock/MUG", {"level": 5})
        await s.settle(1)
        s.env["E2E_SHOPIFY_TOKEN"] = "shpat_revoked"
        await s.reconfigure()
        await s.control(s.ffn, "PUT", "stock/MUG", {"level": 6})
        clock = FakeClock()
        stock_jobs = sorted(
            (j for j in s.runtime.jobs if j.flow == "stock"), key=lambda j: getattr(j, "phase", 0)
        )
        runners = [JobRunner(job, clock=clock) for job in stock_jobs]
        errors: list[str] = []
        sink = logger.add(lambda m: errors.append(str(m)), level="ERROR", format="{message}")
        try:
            rejected_after: list[int] = []
            for _ in range(8):
                await asyncio.sleep(1.05 - (time.time() % 1))  # windows end on whole seconds
                for runner in runners:
                    await runner()
                clock.advance(1)
                calls = await s.requests(shop)
                rejected_after.append(sum(1 for c in calls if c["status"] == 401))
        finally:
            logger.remove(sink)
        # Three cycles at the normal interval, then the shop's stock job waits (60 s, doubling): no
        # 401 every cycle, and one ERROR for the operator instead of one per cycle.
        assert rejected_after == [1, 2, 3, 3, 3, 3, 3, 3]
        stock_job = next(r for r in runners if r.spec.channel == "shopify-main")
        assert stock_job.backoff_until is not None and stock_job.consecutive_failures >= 3
        assert len([e for e in errors if "credentials" in e]) == 1, errors


@pytest.mark.timeout(150)
async def test_a_hung_shop_does_not_hold_up_the_shipments_of_the_others(tmp_path: Path, pg_dsn: str) -> None:
    rng = random.Random(5)
    async with blackhole() as hung, stack(tmp_path, pg_dsn, ["shopify", "shopware"], shop_knobs=PLUS) as s:
        healthy, doomed = s.shops["shopify-main"], s.shops["shopware-main"]
        for shop in (healthy, doomed):
            await seed_catalogue(s, shop)
        await s.settle(1)
        await new_order(s, doomed, rng)
        await s.settle(2)
        (doomed_outbound,) = await outbounds(s)
        order = await new_order(s, healthy, rng)
        await s.settle(2)
        (healthy_outbound,) = [
            o for o in await outbounds(s) if o["outboundId"] != doomed_outbound["outboundId"]
        ]
        # The shopware shop now accepts connections and never answers.
        write_merchant(
            s.config_path,
            s.ffn.url,
            [("shopify-main", "shopify", healthy.url), ("shopware-main", "shopware", hung.url)],
            product_master="shopify-main",
            write_deadline_s=3,
        )
        await s.runtime.aclose()
        s.runtime = await build_runtime(load_config(s.config_path, environ=s.env), s.db)
        scheduler = SyncScheduler()
        scheduler.start(s.runtime.jobs)
        try:
            await s.control(s.ffn, "POST", f"outbounds/{doomed_outbound['outboundId']}/ship", {"packages": 1})
            # Its fulfilment is pulled and handed to the hung shop: the shipments cycle is in that call now.
            assert await _wait_for(20, _shipment_pulled(s, "shopware-main")) is not None
            await asyncio.sleep(1)
            await s.control(
                s.ffn, "POST", f"outbounds/{healthy_outbound['outboundId']}/ship", {"packages": 1}
            )

            async def fulfilled() -> bool:
                return bool((await shop_order(s, healthy, ref(order)))["fulfillments"])

            took = await _wait_for(40, fulfilled)
            # One write deadline for the hung shop at most, plus a cycle or two of the shipments flow.
            assert took is not None and took <= 8, f"the healthy shop's fulfilment took {took}s"
            print(f"healthy shop fulfilled after {took:.1f}s while the other shop hangs")
        finally:
            await scheduler.stop(1)


def _shipment_pulled(s: Any, channel: str) -> Any:
    async def check() -> bool:
        count = await s.db.pool.fetchval(
            "SELECT count(*) FROM snapshot WHERE entity = 'shipment' AND channel = $1", channel
        )
        return bool(count)

    return check
