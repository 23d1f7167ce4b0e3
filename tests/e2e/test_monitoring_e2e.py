"""/metrics and /healthz during a real sync: counters agree with the sandboxes' request logs, and a
flow made to stall turns the process unhealthy until it recovers."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from daemon.config.process import MetricsConfig
from daemon.errors import RetryableError
from daemon.monitor import PostgresHealth, start_monitor
from tests.e2e.stack import Stack, stack
from tests.e2e.world import new_order, seed_catalogue


async def scrape(s: Stack, url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    async with s.http.get(f"{url}/metrics") as resp:
        text = await resp.text()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def total(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= set(ls))


async def test_metrics_follow_the_sync_and_healthz_reports_a_stalled_flow(
    tmp_path: Path, pg_dsn: str
) -> None:
    async with stack(tmp_path, pg_dsn, ["shopify"]) as s:
        shop = s.shops["shopify-main"]
        monitor = await start_monitor(MetricsConfig(enabled=True, host="127.0.0.1", port=_free_port()),
                                      PostgresHealth(s.db.pool))  # fmt: skip
        try:
            url = monitor.url
            before = await scrape(s, url)
            ffn_seq = (await s.control(s.ffn, "GET", "requests?since=999999999"))["last_seq"]
            await seed_catalogue(s, shop)
            for _ in range(12):
                await new_order(s, shop, random.Random(5))
            assert await s.settle(2)
            after = await scrape(s, url)

            ffn_calls = [
                r
                for r in await s.requests(s.ffn, ffn_seq)
                if r["path"].startswith("/api/") and not r["injected"]
            ]
            counted = total(after, "ffn_sync_api_calls_total", merchant="acme", upstream="ffn") - total(
                before, "ffn_sync_api_calls_total", merchant="acme", upstream="ffn"
            )
            assert counted == len(ffn_calls) > 0
            created = [r for r in ffn_calls if r["method"] == "POST" and r["path"].endswith("/outbounds")]
            pushed = total(
                after, "ffn_sync_records_pushed_total", channel="shopify-main", flow="orders"
            ) - total(before, "ffn_sync_records_pushed_total", channel="shopify-main", flow="orders")
            assert pushed == len(created) == 12
            assert total(after, "ffn_sync_order_export_latency_seconds_count", channel="shopify-main") >= 12

            async with s.http.get(f"{url}/healthz") as resp:
                assert resp.status == 200, await resp.text()

            # The shop goes down: its orders flow fails until no success is left within 3 intervals (3 s).
            orders_job = next(j for j in s.runtime.jobs if j.flow == "orders")
            await s.control(shop, "PUT", "faults", {"rate": 1.0, "statuses": [503], "retry_after_s": 0})
            while True:
                await asyncio.sleep(1.05 - time.time() % 1)  # the next window starts a second later
                with pytest.raises(RetryableError):
                    await orders_job.run()
                statuses = {f.flow: f for f in await PostgresHealth(s.db.pool).flow_statuses()}
                if statuses["orders"].stalled:
                    break
            async with s.http.get(f"{url}/healthz") as resp:
                body = await resp.json()
                assert resp.status == 503
                stalled = next(f for f in body["stalled"] if f["flow"] == "orders")
                assert (stalled["merchant"], stalled["channel"]) == ("acme", "shopify-main")

            await s.control(shop, "PUT", "faults", {"rate": 0.0})
            for _ in range(5):  # intervals are 1 s here, so each flow must have just succeeded
                await s.settle(1)
                async with s.http.get(f"{url}/healthz") as resp:
                    if resp.status == 200:
                        break
            assert resp.status == 200, await resp.text()
        finally:
            await monitor.aclose()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
