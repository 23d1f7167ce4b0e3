"""In-memory stand-ins for the adapters, so flow logic is tested on a real Postgres in milliseconds.

The real adapters are proven against their sandboxes in tests/adapters and end to end in tests/e2e.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from daemon.errors import ManualActionNeeded
from daemon.model import (
    EDITABLE_OUTBOUND_STATUSES,
    FulfillerStatus,
    OrderRef,
    Outbound,
    OutboundStatus,
    Shipment,
    ShopOrder,
    ShopProduct,
    ShopStock,
    StockLevel,
    Window,
)
from daemon.ports import ItemFailure, ItemResult, UnreadableOrder


def _in(window: Window, at: datetime | None) -> bool:
    return at is not None and window.start <= at < window.end


@dataclass
class FakeFulfiller:
    outbounds: dict[str, Outbound] = field(default_factory=dict)
    statuses: dict[str, OutboundStatus] = field(default_factory=dict)
    products: dict[str, ShopProduct] = field(default_factory=dict)
    shipments: list[Shipment] = field(default_factory=list)
    changes: list[FulfillerStatus] = field(default_factory=list)
    stock: list[StockLevel] = field(default_factory=list)
    writes: list[tuple[str, str]] = field(default_factory=list)

    async def upsert_product(self, product: ShopProduct) -> str:
        self.writes.append(("upsert_product", product.sku))
        self.products[product.sku] = product
        return "J" + product.sku.upper().rjust(10, "0")[-10:]

    async def create_outbound(self, outbound: Outbound) -> str:
        self.writes.append(("create_outbound", outbound.outbound_id))
        if outbound.outbound_id not in self.outbounds:
            self.outbounds[outbound.outbound_id] = outbound
            self.statuses[outbound.outbound_id] = OutboundStatus.PENDING
        return outbound.outbound_id

    async def get_outbound(self, outbound_id: str) -> FulfillerStatus | None:
        if outbound_id not in self.outbounds:
            return None
        o = self.outbounds[outbound_id]
        return FulfillerStatus(outbound_id, o.merchant_outbound_number, self.statuses[outbound_id])

    async def update_outbound(self, outbound: Outbound) -> None:
        self.writes.append(("update_outbound", outbound.outbound_id))
        if self.statuses[outbound.outbound_id] not in EDITABLE_OUTBOUND_STATUSES:
            raise ManualActionNeeded("update forbidden", vendor_code="Outbounds_OutboundUpdateForbidden")
        self.outbounds[outbound.outbound_id] = outbound

    async def cancel_outbound(self, outbound_id: str, reason: str) -> None:
        self.writes.append(("cancel_outbound", outbound_id))
        if self.statuses[outbound_id] not in EDITABLE_OUTBOUND_STATUSES:
            raise ManualActionNeeded(
                "status change forbidden", vendor_code="Outbounds_OutboundStatusChangeForbidden"
            )
        self.statuses[outbound_id] = OutboundStatus.CANCELED

    async def shipping_notifications(self, window: Window) -> AsyncIterator[Shipment]:
        for s in self.shipments:
            if _in(window, s.updated_at):
                yield s

    async def outbound_changes(self, window: Window) -> AsyncIterator[FulfillerStatus]:
        for c in self.changes:
            if _in(window, c.updated_at):
                yield c

    async def stock_changes(self, window: Window) -> AsyncIterator[StockLevel]:
        for level in self.stock:
            if _in(window, level.updated_at):
                yield level

    async def stock_complete(self) -> AsyncIterator[StockLevel]:
        for level in self.stock:
            yield level

    async def aclose(self) -> None:
        return None


@dataclass
class FakeShop:
    kind: str = "fake"
    stock_cas: bool = False
    orders: dict[str, ShopOrder] = field(default_factory=dict)
    products: list[ShopProduct] = field(default_factory=list)
    fulfilments: list[tuple[str, Shipment]] = field(default_factory=list)
    statuses: list[tuple[str, FulfillerStatus, bool]] = field(default_factory=list)
    stock: dict[str, int] = field(default_factory=dict)
    stock_writes: list[list[ShopStock]] = field(default_factory=list)
    known_skus: set[str] | None = None
    unreadable: list[UnreadableOrder] = field(default_factory=list)

    def put(self, order: ShopOrder) -> None:
        self.orders[order.order_id] = order

    async def changed_products(self, window: Window) -> AsyncIterator[ShopProduct]:
        for p in self.products:
            if _in(window, p.updated_at):
                yield p

    async def changed_orders(self, window: Window) -> AsyncIterator[ShopOrder | UnreadableOrder]:
        for bad in self.unreadable:
            if _in(window, bad.updated_at):
                yield bad
        for o in sorted(self.orders.values(), key=lambda o: o.updated_at):
            if _in(window, o.updated_at):
                yield o

    async def get_order(self, order_id: str) -> ShopOrder | UnreadableOrder | None:
        if order_id in self.orders:
            return self.orders[order_id]
        return next((bad for bad in self.unreadable if bad.order_id == order_id), None)

    async def apply_shipment(self, order: OrderRef, shipment: Shipment) -> None:
        self.fulfilments.append((order.order_id, shipment))

    async def apply_order_status(
        self, order: OrderRef, status: FulfillerStatus, *, cancel_in_shop: bool
    ) -> None:
        self.statuses.append((order.order_id, status, cancel_in_shop))

    async def set_stock(self, levels: Sequence[ShopStock]) -> list[ItemResult]:
        self.stock_writes.append(list(levels))
        results = []
        for level in levels:
            if self.known_skus is not None and level.sku not in self.known_skus:
                results.append(
                    ItemResult.failed(level.sku, ItemFailure.UNKNOWN_SKU, f"no such SKU {level.sku}")
                )
            else:
                self.stock[level.sku] = level.quantity
                results.append(ItemResult.written(level.sku))
        return results

    async def aclose(self) -> None:
        return None


def qty(value: int | str) -> Decimal:
    return Decimal(value)


__all__ = ["FakeFulfiller", "FakeShop", "qty", "replace"]
