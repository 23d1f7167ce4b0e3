"""One shop sandbox, many shops: ``/shops/{shop}/`` is a shop of its own (world, credentials, bucket, log),
reached by the unchanged adapters through their base URL alone."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from adapters.shopify import ShopifyChannel
from adapters.shopware import ShopwareChannel
from adapters.woocommerce import WooCommerceChannel
from daemon.clock import FakeClock
from daemon.errors import SyncError
from daemon.model import ShopOrder, Window
from daemon.secrets import Secret
from sandboxes import shopify, shopware, woocommerce
from sandboxes.kit.kit import KIT_KEY
from sandboxes.kit.tenants import TENANTS_KEY, shop_credential
from sandboxes.world.catalogue import catalogue, order_body
from sandboxes.world.shops import SHOPIFY_LOCATION

Channel = ShopifyChannel | ShopwareChannel | WooCommerceChannel
SHOPIFY_TOKEN = shopify.TEST_TOKEN


def _shopify(url: str, shop: str | None, clock: FakeClock) -> Channel:
    token = shop_credential(SHOPIFY_TOKEN, shop) if shop else SHOPIFY_TOKEN
    return ShopifyChannel(url, access_token=Secret(token), location_id=SHOPIFY_LOCATION, clock=clock)


def _shopware(url: str, shop: str | None, clock: FakeClock) -> Channel:
    client_id, secret = shopware.CLIENT_ID, shopware.CLIENT_SECRET
    if shop:
        client_id, secret = shop_credential(client_id, shop), shop_credential(secret, shop)
    return ShopwareChannel(url, client_id=client_id, client_secret=Secret(secret), clock=clock)


def _woocommerce(url: str, shop: str | None, clock: FakeClock) -> Channel:
    key, secret = woocommerce.CONSUMER_KEY, woocommerce.CONSUMER_SECRET
    if shop:
        key, secret = shop_credential(key, shop), shop_credential(secret, shop)
    return WooCommerceChannel(url, consumer_key=Secret(key), consumer_secret=Secret(secret), clock=clock)


@dataclass(frozen=True)
class Kind:
    create_app: Callable[..., Any]
    channel: Callable[[str, str | None, FakeClock], Channel]


KINDS = {
    "shopify": Kind(shopify.create_app, _shopify),
    "shopware": Kind(shopware.create_app, _shopware),
    "woocommerce": Kind(woocommerce.create_app, _woocommerce),
}


@dataclass
class Running:
    server: TestServer
    session: aiohttp.ClientSession
    clock: FakeClock
    kind: Kind
    channels: list[Channel]

    def url(self, shop: str | None) -> str:
        base = str(self.server.make_url("")).rstrip("/")
        return f"{base}/shops/{shop}" if shop else base

    def channel(self, shop: str | None, *, credentials_of: str | None = None) -> Channel:
        made = self.kind.channel(self.url(shop), credentials_of or shop, self.clock)
        self.channels.append(made)
        return made

    async def control(self, shop: str | None, method: str, path: str, body: Any = None) -> Any:
        async with self.session.request(method, f"{self.url(shop)}/_sandbox/{path}", json=body) as answer:
            assert answer.status < 300, f"{method} {path}: {answer.status} {await answer.text()}"
            return await answer.json()

    async def orders(self, channel: Channel) -> list[str]:
        now = self.clock.now()
        window = Window(now - timedelta(hours=1), now + timedelta(seconds=1))
        return sorted(
            o.order_id for o in [o async for o in channel.changed_orders(window)] if isinstance(o, ShopOrder)
        )


@pytest.fixture(params=sorted(KINDS))
async def running(request: pytest.FixtureRequest) -> AsyncIterator[Running]:
    clock = FakeClock()
    kind = KINDS[request.param]
    server = TestServer(kind.create_app(clock=clock), host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        run = Running(server, session, clock, kind, [])
        yield run
        for channel in run.channels:
            await channel.aclose()
    await server.close()


async def _orders(run: Running, shop: str | None, count: int) -> list[str]:
    products = catalogue(2, prefix=f"P{shop or 'default'}".upper())
    for product in products:
        await run.control(shop, "POST", "products", product.as_control())
    placed = [
        await run.control(shop, "POST", "orders", order_body(random.Random(n), products, n))
        for n in range(count)
    ]
    run.clock.advance(5)
    return sorted(str(answer["id"]) for answer in placed)


async def test_each_shop_has_its_own_world_credentials_and_log(running: Running) -> None:
    alpha = await _orders(running, "alpha", 2)
    beta = await _orders(running, "beta", 1)

    assert [o.split("/")[-1] for o in await running.orders(running.channel("alpha"))] == [
        a.split("/")[-1] for a in alpha
    ]
    assert [o.split("/")[-1] for o in await running.orders(running.channel("beta"))] == [
        b.split("/")[-1] for b in beta
    ]
    assert await running.orders(running.channel(None)) == []  # the default shop: untouched

    # Shop beta's credentials do not open shop alpha (nor the default shop).
    with pytest.raises(SyncError):
        await running.orders(running.channel("alpha", credentials_of="beta"))
    with pytest.raises(SyncError):
        await running.orders(running.channel(None, credentials_of="beta"))

    tenants = running.server.app[TENANTS_KEY].apps
    assert sorted(tenants) == ["alpha", "beta"]
    assert tenants["alpha"][KIT_KEY].log.entries() and tenants["beta"][KIT_KEY].log.entries()
    default_paths = {e.path for e in running.server.app[KIT_KEY].log.entries()}
    assert not [p for p in default_paths if p.startswith("/shops/")]


async def test_a_shop_has_its_own_faults(running: Running) -> None:
    await _orders(running, "alpha", 1)
    await _orders(running, "beta", 1)
    await running.control("alpha", "PUT", "faults", {"rate": 1.0, "statuses": [503]})

    with pytest.raises(SyncError):
        await running.orders(running.channel("alpha"))
    assert len(await running.orders(running.channel("beta"))) == 1


async def test_a_shop_name_must_be_a_shop_handle(running: Running) -> None:
    async with running.session.get(f"{running.url(None)}/shops/Not_A_Shop/_sandbox/stock") as answer:
        assert answer.status == 404


BULK_RUN = """mutation Run($q: String!) { bulkOperationRunQuery(query: $q) {
  bulkOperation { id } userErrors { message } } }"""
BULK_STATUS = "query Status($id: ID!) { bulkOperation(id: $id) { status url } }"


async def test_a_shops_bulk_results_are_linked_under_its_own_prefix() -> None:
    clock = FakeClock()
    server = TestServer(shopify.create_app(clock=clock), host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            run = Running(server, session, clock, KINDS["shopify"], [])
            await _orders(run, "alpha", 2)
            url = f"{run.url('alpha')}/admin/api/2026-10/graphql.json"
            headers = {"X-Shopify-Access-Token": shop_credential(SHOPIFY_TOKEN, "alpha")}

            async def gql(query: str, variables: dict[str, Any]) -> Any:
                async with session.post(
                    url, json={"query": query, "variables": variables}, headers=headers
                ) as r:
                    return (await r.json())["data"]

            query = "{ orders { edges { node { id } } } }"
            op = (await gql(BULK_RUN, {"q": query}))["bulkOperationRunQuery"]["bulkOperation"]
            clock.advance(5)
            done = (await gql(BULK_STATUS, {"id": op["id"]}))["bulkOperation"]
            assert done["status"] == "COMPLETED" and done["url"].startswith(f"{run.url('alpha')}/")
            async with session.get(done["url"]) as answer:
                assert answer.status == 200
                assert (
                    len((await answer.read()).splitlines()) == 2
                )  # alpha's two orders, not the default shop's
    finally:
        await server.close()
