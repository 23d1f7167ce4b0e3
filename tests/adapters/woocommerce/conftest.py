"""A WooCommerce sandbox on 127.0.0.1 and a channel pointed at it, sharing one fake clock."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
import yarl
from aiohttp.test_utils import TestServer
from woocommerce.oauth import OAuth

from adapters.woocommerce import WooCommerceChannel
from daemon.clock import FakeClock
from daemon.secrets import Secret
from sandboxes.kit.kit import KIT_KEY
from sandboxes.kit.requestlog import LoggedExchange
from sandboxes.woocommerce import create_app
from tests.spec_files import spec_bytes

SANDBOX_BASIC = "Basic " + base64.b64encode(b"ck_sandbox:cs_sandbox").decode()


def signed_url(
    url: str, method: str, now: datetime, key: str = "ck_sandbox", secret: str = "cs_sandbox"
) -> str:
    """``url`` signed by WooCommerce's own Python client (OAuth 1.0a, what plain HTTP requires)."""
    oauth = OAuth(url, key, secret, version="wc/v3", method=method, oauth_timestamp=int(now.timestamp()))
    return str(oauth.get_oauth_url())


def doc_example(name: str) -> Any:
    return json.loads(spec_bytes(f"woocommerce/rest-api-docs-examples/{name}.json"))


class Shop:
    """The running sandbox: control API calls and its request log."""

    def __init__(self, server: TestServer, session: aiohttp.ClientSession, clock: FakeClock) -> None:
        self.server = server
        self.session = session
        self.clock = clock
        self.url = str(server.make_url("")).rstrip("/")
        self.kit = server.app[KIT_KEY]

    async def call(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        async with self.session.request(method, self.url + path, json=body, **kw) as response:
            assert response.status < 300, f"{method} {path}: {response.status} {await response.text()}"
            return await response.json()

    async def vendor(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        url = yarl.URL(self.url + "/wp-json" + path).with_query(params or None)
        signed = yarl.URL(signed_url(str(url), method, self.clock.now()), encoded=True)
        async with self.session.request(method, signed, json=body) as response:
            assert response.status < 300, f"{method} {path}: {response.status} {await response.text()}"
            return await response.json()

    async def product(self, sku: str, **fields: Any) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("POST", "/_sandbox/products", {"sku": sku, **fields})
        return result

    async def order(self, lines: list[tuple[str, int]], **fields: Any) -> dict[str, Any]:
        body = {
            "lines": [{"sku": sku, "qty": qty, "price": "10.00"} for sku, qty in lines],
            "paid": True,
            "shipping_method": "DHL Paket",
            "address": {
                "first_name": "Erika",
                "last_name": "Muster",
                "street": "Hauptstr. 1",
                "zip": "10115",
                "city": "Berlin",
                "country_code": "DE",
            },
            **fields,
        }
        result: dict[str, Any] = await self.call("POST", "/_sandbox/orders", body)
        return result

    def requests(self, since: int = 0) -> list[LoggedExchange]:
        return self.kit.log.entries(since)

    def writes(self, since: int = 0) -> list[LoggedExchange]:
        return [e for e in self.requests(since) if e.is_write]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))


ShopFactory = Callable[..., Awaitable[Shop]]


@pytest.fixture
async def make_shop(clock: FakeClock) -> AsyncIterator[ShopFactory]:
    servers: list[TestServer] = []
    session = aiohttp.ClientSession()

    async def start(**knobs: Any) -> Shop:
        server = TestServer(create_app(**{"clock": clock, **knobs}), host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return Shop(server, session, clock)

    yield start
    await session.close()
    for server in servers:
        await server.close()


@pytest.fixture
async def shop(make_shop: ShopFactory) -> Shop:
    return await make_shop()


ChannelFactory = Callable[..., WooCommerceChannel]


@pytest.fixture
async def make_channel(clock: FakeClock) -> AsyncIterator[ChannelFactory]:
    channels: list[WooCommerceChannel] = []

    def build(shop: Shop, **options: Any) -> WooCommerceChannel:
        options.setdefault("consumer_key", Secret("ck_sandbox"))
        options.setdefault("consumer_secret", Secret("cs_sandbox"))
        channel = WooCommerceChannel(shop.url, clock=clock, **options)
        channels.append(channel)
        return channel

    yield build
    for channel in channels:
        await channel.aclose()


@pytest.fixture
def channel(shop: Shop, make_channel: ChannelFactory) -> WooCommerceChannel:
    return make_channel(shop)
