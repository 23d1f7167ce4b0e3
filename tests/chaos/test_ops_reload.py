"""SIGHUP under trouble: once the reload has completed, nothing of the old configuration runs any more."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest

from sandboxes.world.running import start_in_process
from tests.chaos.ops_world import write_merchant
from tests.e2e.stack import stack
from tests.e2e.world import seed_catalogue


async def _wait_until(seconds: float, check: object) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.2)
    return False


@pytest.mark.timeout(150)
async def test_after_sighup_completes_no_request_reaches_the_old_url(tmp_path: Path, pg_dsn: str) -> None:
    async with stack(tmp_path, pg_dsn, ["woocommerce"]) as s:
        old = s.shops["woocommerce-main"]
        await seed_catalogue(s, old)
        await s.settle(1)  # the products reach FFN
        for sku, level in (("MUG", 10), ("CAP", 4), ("POSTER", 3), ("TSHIRT-S", 2), ("TSHIRT-M", 1)):
            await s.control(s.ffn, "PUT", f"stock/{sku}", {"level": level})
        new = await start_in_process("woocommerce")
        log = tmp_path / "daemon.log"
        proc = None
        try:
            await seed_catalogue(s, new)
            # The old shop is in trouble: every request is answered 503 "retry in 2 s".
            await s.control(old, "PUT", "faults", {"rate": 1.0, "statuses": [503], "retry_after_s": 2})
            shops = [("woocommerce-main", "woocommerce", old.url)]
            write_merchant(s.config_path, s.ffn.url, shops, product_master="woocommerce-main", grace_s=1)
            await s.runtime.aclose()  # the daemon below must own the merchant
            proc = await s.stage.spawn_daemon(log)

            async def old_is_busy() -> bool:
                return len([r for r in await s.requests(old) if r["injected"]]) >= 8

            assert await _wait_until(30, old_is_busy), log.read_text()[-3000:]
            shops = [("woocommerce-main", "woocommerce", new.url)]
            write_merchant(s.config_path, s.ffn.url, shops, product_master="woocommerce-main", grace_s=1)
            proc.send_signal(signal.SIGHUP)

            async def reloaded() -> bool:
                return "configuration reloaded" in log.read_text()

            assert await _wait_until(60, reloaded), log.read_text()[-3000:]
            await s.mark()
            await asyncio.sleep(8)  # longer than the old requests' remaining retries
            late = await s.requests(old, s.marks[old.url])
            assert late == [], [f"{r['method']} {r['path']}" for r in late]
            assert await s.requests(new), "the new configuration runs"
        finally:
            if proc is not None and proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                await asyncio.wait_for(proc.wait(), 60)
            await new.runner.cleanup()
