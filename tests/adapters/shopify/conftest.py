"""Fixtures: a Shopify sandbox on 127.0.0.1 and clients sharing its fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from adapters.shopify import ShopifyChannel
from daemon.clock import FakeClock
from daemon.secrets import Secret
from sandboxes.kit.kit import KIT_KEY
from sandboxes.kit.requestlog import LoggedExchange
from sandboxes.shopify import SANDBOX_KEY, TEST_TOKEN, ShopifySandbox, create_app

START = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)


@dataclass
class Shop:
    server: TestServer
    sandbox: ShopifySandbox
    clock: FakeClock
    session: aiohttp.ClientSession

    @property
    def base_url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    def channel(self, **kw: Any) -> ShopifyChannel:
        options: dict[str, Any] = {
            "access_token": Secret(TEST_TOKEN),
            "location_id": self.sandbox.location_id,
            "clock": self.clock,
        }
        options.update(kw)
        return ShopifyChannel(self.base_url, **options)

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        async with self.session.request(method, self.server.make_url(path), json=body) as response:
            assert response.status < 300, await response.text()
            return await response.json()

    async def graphql(
        self, query: str, variables: Any = None, token: str = TEST_TOKEN, version: str = "2026-10"
    ) -> tuple[int, Any]:
        async with self.session.post(
            self.server.make_url(f"/admin/api/{version}/graphql.json"),
            json={"query": query, "variables": variables or {}},
            headers={"X-Shopify-Access-Token": token},
        ) as response:
            return response.status, await response.json()

    def graphql_log(self) -> list[LoggedExchange]:
        return [e for e in self.server.app[KIT_KEY].log.entries() if e.path.endswith("/graphql.json")]

    async def product(self, sku: str, **kw: Any) -> dict[str, Any]:
        body = {"sku": sku, "name": f"Product {sku}", "price": "10.00", "ean": None, "weight_kg": 0.25, **kw}
        result: dict[str, Any] = await self.control("POST", "/_sandbox/products", body)
        return result

    async def order(self, lines: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
        body = {
            "lines": lines,
            "paid": True,
            "shipping_method": "DHL Paket",
            "address": {"first_name": "Erika", "last_name": "Mustermann", "street": "Hauptstr. 1",
                        "zip": "10115", "city": "Berlin", "country_code": "DE"},
            "tags": [],
            **kw,
        }  # fmt: skip
        result: dict[str, Any] = await self.control("POST", "/_sandbox/orders", body)
        return result


@pytest.fixture
async def shop() -> AsyncIterator[Shop]:
    clock = FakeClock(START)
    app = create_app(clock=clock)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    session = aiohttp.ClientSession()
    try:
        yield Shop(server, app[SANDBOX_KEY], clock, session)
    finally:
        await session.close()
        await server.close()
