"""Every shop sandbox serves the shared webhook knobs (``PUT /_sandbox/webhooks``) on its own deliveries."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from daemon.clock import FakeClock
from sandboxes import shopify, shopware, woocommerce
from sandboxes.kit.webhooks import DELIVERIES_KEY
from sandboxes.woocommerce.webhooks import Webhook
from tests.sandboxes.webhook_receiver import Receiver, receiver

__all__ = ["receiver"]

START = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
Subscribe = Callable[[web.Application, TestServer, aiohttp.ClientSession, str], Awaitable[None]]


async def _shopify(
    app: web.Application, server: TestServer, session: aiohttp.ClientSession, url: str
) -> None:
    query = (
        "mutation($s: WebhookSubscriptionInput!) { webhookSubscriptionCreate(topic: ORDERS_CREATE, "
        "webhookSubscription: $s) { userErrors { message } } }"
    )
    async with session.post(
        server.make_url("/admin/api/2026-10/graphql.json"),
        json={"query": query, "variables": {"s": {"uri": url}}},
        headers={"X-Shopify-Access-Token": shopify.TEST_TOKEN},
    ) as response:
        assert (await response.json())["data"]["webhookSubscriptionCreate"]["userErrors"] == []


async def _woocommerce(
    app: web.Application, server: TestServer, session: aiohttp.ClientSession, url: str
) -> None:
    hooks = app[woocommerce.WEBHOOKS_KEY]
    now = START
    hooks.hooks[1] = Webhook(1, "knobs", "order.created", url, "secret", "active", now, now, "http://shop")


async def _shopware(
    app: web.Application, server: TestServer, session: aiohttp.ClientSession, url: str
) -> None:
    row = {
        "id": "f" * 32, "name": "knobs", "eventName": "checkout.order.placed", "url": url,
        "onlyLiveVersion": False, "errorCount": 0, "active": True, "appId": None, "createdAt": "x", "updatedAt": None,
    }  # fmt: skip
    app[shopware.SHOP_KEY].store.insert("webhook", row)


KINDS: dict[str, tuple[Callable[..., web.Application], Subscribe, dict[str, Any], dict[str, Any]]] = {
    "shopify": (shopify.create_app, _shopify, {"sku": "A", "name": "A", "price": "1.00"}, {"lines": [{"sku": "A", "qty": 1}]}),
    "woocommerce": (
        woocommerce.create_app, _woocommerce, {"sku": "A", "name": "A", "price": "1.00"},
        {"lines": [{"sku": "A", "qty": 1, "price": "1.00"}], "paid": True},
    ),
    "shopware": (
        shopware.create_app, _shopware, {"sku": "A", "name": "A", "price": "1.00", "stock": 5},
        {"lines": [{"sku": "A", "qty": 1, "price": "1.00"}]},
    ),
}  # fmt: skip


@pytest.fixture(params=sorted(KINDS))
async def shop(request: pytest.FixtureRequest, receiver: Receiver) -> AsyncIterator[Any]:
    create_app, subscribe, product, order = KINDS[request.param]
    clock = FakeClock(START)
    app = create_app(clock=clock)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as session:

        async def control(method: str, path: str, body: Any = None) -> Any:
            async with session.request(method, server.make_url(path), json=body) as response:
                assert response.status < 300, await response.text()
                return await response.json()

        await control("POST", "/_sandbox/products", product)
        await subscribe(app, server, session, receiver.url())
        yield app, clock, control, order
    await server.close()


async def test_knobs_apply_to_every_sandbox(shop: Any, receiver: Receiver) -> None:
    app, clock, control, order = shop
    deliveries = app[DELIVERIES_KEY]
    knobs = await control("PUT", "/_sandbox/webhooks", {"duplicate_rate": 1.0, "delay_s": 5})
    assert (knobs["duplicate_rate"], knobs["delay_s"]) == (1.0, 5)

    await control("POST", "/_sandbox/orders", order)
    await deliveries.settle()
    assert receiver.received == []
    clock.advance(5)
    await deliveries.settle()

    first, second = receiver.received
    assert (first.body, dict(first.headers).keys()) == (second.body, dict(second.headers).keys())
    state = await control("GET", "/_sandbox/webhooks")
    assert [a["duplicate"] for a in state["attempts"]] == [False, True]
    assert len(state["subscriptions"]) == 1

    await control("POST", "/_sandbox/reset")
    assert (await control("GET", "/_sandbox/webhooks"))["knobs"]["duplicate_rate"] == 0.0
