"""Shopware 6: ``sandboxes/shopware`` as 6.6 and 6.7 and ``ShopwareChannel``; its traffic is checked
against the Admin API spec of that version when the driver closes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from adapters.shopware import ShopwareChannel
from daemon.model import OrderRef, ShopStock
from daemon.ports import ItemFailure, ShopChannel
from daemon.secrets import Secret
from sandboxes.kit.requestlog import LoggedExchange
from sandboxes.shopware import CLIENT_ID, CLIENT_SECRET, SHOP_KEY, Shop, create_app
from tests.adapters.shopware.spec_check import assert_traffic_valid
from tests.contracts.drivers.base import OrderState, SandboxDriver, Shipped


@dataclass
class ShopwareDriver(SandboxDriver):
    version: str = "6.7"

    def __post_init__(self) -> None:
        self.keeps_notes = self.version != "6.6"

    def create_app(self) -> web.Application:
        return create_app(self.version, clock=self.clock)

    @property
    def shop(self) -> Shop:
        assert self.app is not None
        return self.app[SHOP_KEY]

    def _channel(self, secret: str, page_size: int | None) -> ShopChannel:
        return self.track(
            ShopwareChannel(
                self.url,
                client_id=CLIENT_ID,
                client_secret=Secret(secret),
                page_size=page_size or 100,
                clock=self.clock,
            )
        )

    def channel(self, *, page_size: int | None = None) -> ShopChannel:
        return self._channel(CLIENT_SECRET, page_size)

    def channel_with_wrong_secret(self) -> tuple[ShopChannel, str]:
        wrong = "definitely-wrong-secret-value-0000000000000000"
        return self._channel(wrong, None), wrong

    def check_traffic(self, exchanges: list[LoggedExchange]) -> None:
        assert_traffic_valid(self.version, exchanges)

    async def product(self, sku: str) -> None:
        await self.control("POST", "products", {"sku": sku, "name": f"Article {sku}", "stock": 10})

    async def order(self, lines: Sequence[tuple[str, int]], *, paid: bool = True) -> OrderRef:
        body = {"lines": [{"sku": sku, "qty": qty, "price": "9.90"} for sku, qty in lines], "paid": paid}
        created = await self.control("POST", "orders", body)
        return OrderRef(created["id"], created["number"])

    async def edit(self, ref: OrderRef) -> None:
        await self.control("PATCH", f"orders/{ref.order_id}", {"note": "leave at the door"})

    async def cancel(self, ref: OrderRef) -> None:
        await self.control("POST", f"orders/{ref.order_id}/cancel")

    async def make_unreadable(self, ref: OrderRef) -> str:
        # The currency the order points at is gone (deleted by a plugin): the association comes back empty.
        row = self.shop.store.get("order", ref.order_id)
        assert row is not None
        row["currencyId"] = "f" * 32
        return f"cannot be read: order {ref.number}: the currency association is missing (isoCode)"

    async def delete(self, ref: OrderRef) -> None:
        del self.shop.store.tables["order"][ref.order_id]

    async def _order(self, ref: OrderRef) -> dict[str, Any]:
        return dict(await self.control("GET", f"orders/{ref.order_id}"))

    async def shipped(self, ref: OrderRef) -> Shipped:
        delivery = (await self._order(ref))["deliveries"][0]
        state = delivery["stateMachineState"]["technicalName"]
        return Shipped(tuple(delivery["trackingCodes"]), state == "shipped")

    async def order_state(self, ref: OrderRef) -> OrderState:
        order = await self._order(ref)
        cancelled = order["stateMachineState"]["technicalName"] == "cancelled"
        # 6.6 keeps the fulfiller's note only as the comment of the cancel transition.
        comments = [h["internalComment"] or "" for h in self.shop.history if h["id"] == ref.order_id]
        notes = "\n".join([order.get("internalComment") or "", *comments]).strip()
        return OrderState(cancelled, tuple(t["name"] for t in order["tags"]), notes)

    async def refused_item(self) -> tuple[ShopStock, ItemFailure]:
        # A parent product is a container: its variants keep the stock.
        await self.control("POST", "products", {"sku": "SHIRT", "name": "Shirt"})
        await self.control("POST", "products", {"sku": "SHIRT-S", "parent_sku": "SHIRT"})
        return ShopStock("SHIRT", 3), ItemFailure.NOT_MANAGED
