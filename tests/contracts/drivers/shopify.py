"""Shopify: ``sandboxes/shopify`` (Admin GraphQL) and ``ShopifyChannel`` without a state store, as
``ffn-sync check`` wires it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from aiohttp import web

from adapters.shopify import ShopifyChannel
from daemon.model import OrderRef, ShopStock
from daemon.ports import ItemFailure, ShopChannel
from daemon.secrets import Secret
from sandboxes.shopify import SANDBOX_KEY, TEST_TOKEN, create_app
from sandboxes.shopify.world import parse_gid
from tests.contracts.drivers.base import OrderState, SandboxDriver, Shipped
from tests.contracts.drivers.wire import walk

ADDRESS = {"first_name": "Erika", "last_name": "Mustermann", "street": "Hauptstr. 1", "zip": "10115",
           "city": "Berlin", "country_code": "DE"}  # fmt: skip


@dataclass
class ShopifyDriver(SandboxDriver):
    gone_wording: str = "not found in Shopify"

    def create_app(self) -> web.Application:
        return create_app(clock=self.clock)

    def _channel(self, token: str, page_size: int | None) -> ShopChannel:
        assert self.app is not None
        return self.track(
            ShopifyChannel(
                self.url,
                access_token=Secret(token),
                location_id=self.app[SANDBOX_KEY].location_id,
                page_size=page_size or 100,
                clock=self.clock,
            )
        )

    def channel(self, *, page_size: int | None = None) -> ShopChannel:
        return self._channel(TEST_TOKEN, page_size)

    def channel_with_wrong_secret(self) -> tuple[ShopChannel, str]:
        wrong = "shpat_0123456789abcdef0123456789abcdef"
        return self._channel(wrong, None), wrong

    async def product(self, sku: str) -> None:
        await self.control("POST", "products", {"sku": sku, "name": f"Product {sku}", "price": "10.00"})

    async def order(self, lines: Sequence[tuple[str, int]], *, paid: bool = True) -> OrderRef:
        body = {
            "lines": [{"sku": sku, "qty": qty} for sku, qty in lines],
            "paid": paid,
            "shipping_method": "DHL Paket",
            "address": ADDRESS,
        }
        created = await self.control("POST", "orders", body)
        return OrderRef(created["id"], created["number"])

    def _path(self, ref: OrderRef) -> str:
        return f"orders/{quote(ref.order_id, safe='')}"

    async def edit(self, ref: OrderRef) -> None:
        await self.control("PATCH", self._path(ref), {"note": "leave at the door"})

    async def cancel(self, ref: OrderRef) -> None:
        await self.control("POST", f"{self._path(ref)}/cancel", {})

    async def make_unreadable(self, ref: OrderRef) -> str:
        # The sandbox answers only schema-valid orders; a payload without its currency (what a schema
        # change could bring) is made on the wire.
        def drop_currency(node: dict[str, Any]) -> None:
            if node.get("id") == ref.order_id and "currencyCode" in node:
                node["currencyCode"] = None
                for key in ("currentTotalPriceSet", "totalPriceSet"):
                    if key in node:
                        node[key] = None

        self.wire.rewrite(lambda data: walk(data, drop_currency))
        return f"cannot be read: order {ref.order_id}: currencyCode is missing"

    async def delete(self, ref: OrderRef) -> None:
        assert self.app is not None
        number = parse_gid(ref.order_id, "Order")
        assert number is not None
        del self.app[SANDBOX_KEY].world.orders[number]

    async def _order(self, ref: OrderRef) -> dict[str, Any]:
        return dict(await self.control("GET", self._path(ref)))

    async def shipped(self, ref: OrderRef) -> Shipped:
        order = await self._order(ref)
        numbers = tuple(t["number"] for f in order["fulfillments"] for t in f["trackingInfo"])
        return Shipped(numbers, order["displayFulfillmentStatus"] == "FULFILLED")

    async def order_state(self, ref: OrderRef) -> OrderState:
        order = await self._order(ref)
        return OrderState(order["cancelledAt"] is not None, tuple(order["tags"]), order["note"] or "")

    async def refused_item(self) -> tuple[ShopStock, ItemFailure]:
        # Shopify refuses writes to an inventory item a fulfilment service manages.
        await self.control("POST", "products", {"sku": "FIXED-1", "name": "Fixed", "non_mutable": True})
        return ShopStock("FIXED-1", 3), ItemFailure.REFUSED
