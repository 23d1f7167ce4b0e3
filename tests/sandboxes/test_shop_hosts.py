"""A fleet's shops each at a loopback address of their own, as real shops are each their own host: the shop
sandboxes answer there (same port), and each merchant's adapters reach their own shop through it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from yarl import URL

from daemon.clock import FakeClock
from daemon.model import Window
from sandboxes.kit.hosts import loopback_host, loopback_hosts
from sandboxes.kit.kit import KIT_KEY
from sandboxes.kit.tenants import TENANTS_KEY
from sandboxes.world.errors import WorldUsageError
from sandboxes.world.fleet import stage_fleet
from sandboxes.world.processes import start_sandbox
from sandboxes.world.running import InProcessSandbox
from sandboxes.world.stage import StageOptions, staged
from tests.sandboxes.test_many_shops import KINDS


def test_loopback_hosts_skip_network_and_broadcast_octets() -> None:
    assert loopback_hosts(2) == ["127.1.0.1", "127.1.0.2"]
    assert loopback_host(249) == "127.1.0.250"
    assert loopback_host(250) == "127.1.1.1"
    with pytest.raises(ValueError, match="outside"):
        loopback_host(-1)


async def test_each_merchants_adapters_reach_their_own_shop_at_their_own_host(
    tmp_path: Path, pg_dsn: str
) -> None:
    options = StageOptions(dsn=pg_dsn, work_dir=tmp_path, sandboxes_in_process=True, shop_hosts=2)
    async with staged(options) as stage:
        fleet = await stage_fleet(stage, 2, distinct_hosts=True)
        now = datetime.now(UTC)
        window = Window(now - timedelta(hours=1), now + timedelta(seconds=1))
        for index, member in enumerate(fleet.members):
            for entry in member.merchant.channels:
                url = URL(entry.url)
                assert url.host == f"127.1.0.{index + 1}", entry.url
                assert url.port == URL(stage.sandboxes[entry.kind].url).port
                channel = KINDS[entry.kind].channel(entry.url, member.merchant_id, FakeClock(now))
                try:
                    assert [o async for o in channel.changed_orders(window)] == []
                finally:
                    await channel.aclose()
                sandbox = stage.sandboxes[entry.kind]
                assert isinstance(sandbox, InProcessSandbox)
                shop = sandbox.app[TENANTS_KEY].apps[member.merchant_id]
                hosts = {e.request_headers.get("Host") for e in shop[KIT_KEY].log.entries(0)}
                assert hosts == {f"127.1.0.{index + 1}:{url.port}"}, (entry.kind, hosts)


async def test_distinct_hosts_need_shop_sandboxes_answering_there(tmp_path: Path, pg_dsn: str) -> None:
    options = StageOptions(dsn=pg_dsn, work_dir=tmp_path, sandboxes_in_process=True, shop_hosts=1)
    async with staged(options) as stage:
        with pytest.raises(WorldUsageError, match="2 loopback addresses"):
            await stage_fleet(stage, 2, distinct_hosts=True)


async def test_the_sandbox_process_answers_on_its_loopback_hosts_and_nowhere_else(tmp_path: Path) -> None:
    async with aiohttp.ClientSession() as session:
        sandbox = await start_sandbox("woocommerce", tmp_path, session, loopback_hosts=2)
        try:
            port = URL(sandbox.url).port
            for host in ("127.0.0.1", "127.1.0.1", "127.1.0.2"):
                async with session.get(f"http://{host}:{port}/_sandbox/requests") as answer:
                    assert answer.status == 200, host
            with pytest.raises(aiohttp.ClientConnectionError):
                async with session.get(f"http://127.1.0.3:{port}/_sandbox/requests"):
                    pass
        finally:
            await sandbox.stop()
