"""WooCommerce: ``sandboxes/woocommerce`` with the Shipment Tracking extension, and ``WooCommerceChannel``
signing with OAuth 1.0a over plain HTTP (loopback), as the wiring builds it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from adapters.woocommerce import WooCommerceChannel
from daemon.model import OrderRef, ShopStock
from daemon.ports import ItemFailure, ShopChannel
from daemon.secrets import Secret
from sandboxes.woocommerce import create_app
from sandboxes.woocommerce.state import STATE_KEY, ShopState
from tests.contracts.drivers.base import OrderState, SandboxDriver, Shipped

ADDRESS = {"first_name": "Erika", "last_name": "Muster", "street": "Hauptstr. 1", "zip": "10115",
           "city": "Berlin", "country_code": "DE"}  # fmt: skip


@dataclass
class WooCommerceDriver(SandboxDriver):
    def create_app(self) -> web.Application:
        return create_app(clock=self.clock)

    @property
    def state(self) -> ShopState:
        assert self.app is not None
        return self.app[STATE_KEY]

    def _channel(self, secret: str, page_size: int | None) -> ShopChannel:
        return self.track(
            WooCommerceChannel(
                self.url,
                consumer_key=Secret("ck_sandbox"),
                consumer_secret=Secret(secret),
                page_size=page_size or 100,
                clock=self.clock,
            )
        )

    def channel(self, *, page_size: int | None = None) -> ShopChannel:
        return self._channel("cs_sandbox", page_size)

    def channel_with_wrong_secret(self) -> tuple[ShopChannel, str]:
        wrong = "cs_0123456789abcdef0123456789abcdef"
        return self._channel(wrong, None), wrong

    async def product(self, sku: str) -> None:
        await self.control("POST", "products", {"sku": sku, "name": f"Product {sku}", "stock": 10})

    async def order(self, lines: Sequence[tuple[str, int]], *, paid: bool = True) -> OrderRef:
        body = {
            "lines": [{"sku": sku, "qty": qty, "price": "10.00"} for sku, qty in lines],
            "paid": paid,
            "shipping_method": "DHL Paket",
            "address": ADDRESS,
        }
        created = await self.control("POST", "orders", body)
        return OrderRef(str(created["id"]), str(created["number"]))

    async def edit(self, ref: OrderRef) -> None:
        await self.control("PATCH", f"orders/{ref.order_id}", {"customer_note": "leave at the door"})

    async def cancel(self, ref: OrderRef) -> None:
        await self.control("POST", f"orders/{ref.order_id}/cancel")

    async def make_unreadable(self, ref: OrderRef) -> str:
        # An order whose creation date a plugin or an import left empty.
        self.state.orders[int(ref.order_id)].created = None  # type: ignore[assignment]
        return f"cannot be read: WooCommerce order {ref.order_id}: date_created_gmt is empty"

    async def delete(self, ref: OrderRef) -> None:
        # The control API only trashes (a trashed order is still listed, as cancelled); this is
        # "Delete permanently".
        order = self.state.orders.pop(int(ref.order_id))
        self.state.orders_by_modified.remove((order.modified, order.id))

    async def _order(self, ref: OrderRef) -> dict[str, Any]:
        return dict(await self.control("GET", f"orders/{ref.order_id}"))

    async def shipped(self, ref: OrderRef) -> Shipped:
        order = await self._order(ref)
        numbers = tuple(t["tracking_number"] for t in order["tracking_items"])
        return Shipped(numbers, order["status"] == "completed")

    async def order_state(self, ref: OrderRef) -> OrderState:
        order = await self._order(ref)
        meta = {m["key"]: m["value"] for m in order["meta_data"]}
        tags = tuple(t for t in str(meta.get("ffn_tags") or "").split(",") if t)
        notes = "\n".join(n["note"] for n in order["notes"])
        return OrderState(order["status"] == "cancelled", tags, notes)

    async def refused_item(self) -> tuple[ShopStock, ItemFailure]:
        # A stale reference to a product deleted since: WooCommerce answers the item "invalid id".
        await self.control("POST", "products", {"sku": "STALE-1", "name": "Stale"})
        return ShopStock("STALE-1", 9, stock_ref="424242"), ItemFailure.UNKNOWN_SKU
