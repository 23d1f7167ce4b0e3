"""A sandbox shop per test (6.6 and 6.7), a channel talking to it, and a spec check of all traffic."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from adapters.shopware import ShopwareChannel
from daemon.clock import FakeClock
from daemon.secrets import Secret
from sandboxes.kit.kit import KIT_KEY, SandboxKit
from sandboxes.shopware import CLIENT_ID, CLIENT_SECRET, SHOP_KEY, Shop, create_app
from tests.adapters.shopware.spec_check import assert_traffic_valid

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class Sandbox:
    url: str
    version: str
    shop: Shop
    kit: SandboxKit
    session: aiohttp.ClientSession
    clock: FakeClock

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        async with self.session.request(method, f"{self.url}/_sandbox/{path}", json=body) as response:
            payload = await response.json()
            assert response.status < 300, payload
            return payload

    async def product(self, sku: str, **fields: Any) -> dict[str, Any]:
        defaults = {} if "parent_sku" in fields else {"name": f"Article {sku}"}
        return dict(await self.control("POST", "products", {"sku": sku, **defaults, **fields}))

    async def order(self, *lines: tuple[str, int], **fields: Any) -> dict[str, Any]:
        body = {"lines": [{"sku": sku, "qty": qty, "price": "9.90"} for sku, qty in lines], **fields}
        return dict(await self.control("POST", "orders", body))

    def vendor_traffic(self) -> list[Any]:
        return [e for e in self.kit.log.entries() if not e.path.startswith("/_sandbox/")]


@pytest.fixture(params=["6.6", "6.7"])
def version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def sandbox(version: str, clock: FakeClock) -> AsyncIterator[Sandbox]:
    app = create_app(version, clock=clock)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        yield Sandbox(
            str(server.make_url("")).rstrip("/"), version, app[SHOP_KEY], app[KIT_KEY], session, clock
        )
    await server.close()


@pytest.fixture
async def channel(sandbox: Sandbox, clock: FakeClock) -> AsyncIterator[ShopwareChannel]:
    """The client under test; on teardown every exchange it had is checked against the spec."""
    client = ShopwareChannel(
        sandbox.url, client_id=CLIENT_ID, client_secret=Secret(CLIENT_SECRET), page_size=3, clock=clock
    )
    yield client
    await client.aclose()
    assert_traffic_valid(sandbox.version, sandbox.kit.log.entries())
