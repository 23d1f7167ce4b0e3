"""In-memory stand-ins for the adapters, so flow logic is tested on a real Postgres in milliseconds.

The real adapters are proven against their sandboxes in tests/adapters and end to end in tests/e2e;
``FakeShop`` runs the same contract suite as they do (tests/contracts), so what the engine tests rely on
is what a real shop does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from daemon.clock import Clock
from daemon.errors import ManualActionNeeded, RecordError, SyncError
from daemon.model import (
    EDITABLE_OUTBOUND_STATUSES,
    FulfillerStatus,
    OrderRef,
    Outbound,
    OutboundLineState,
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
    writes: list[tuple[str, str]] = field(default_factory=list)  # every write call, in order
    # With a clock, the fake's own writes show in ``outbound_changes`` as FFN's do; without one the
    # feeds hold only what a test puts there.
    clock: Clock | None = None
    failure: SyncError | None = None  # raised by every call while set (FFN unreachable, consent revoked)

    def _reach(self) -> None:
        if self.failure is not None:
            raise self.failure

    def _changed(self, outbound_id: str) -> None:
        if self.clock is not None:
            status = self._status(outbound_id)
            self.changes.append(replace(status, updated_at=self.clock.now()))

    def _status(self, outbound_id: str) -> FulfillerStatus:
        o = self.outbounds[outbound_id]
        lines = tuple(
            OutboundLineState(i.outbound_item_id, i.jfsku, i.merchant_sku, i.quantity, i.quantity)
            for i in o.items
        )
        return FulfillerStatus(
            outbound_id, o.merchant_outbound_number, self.statuses[outbound_id], lines=lines
        )

    async def upsert_product(self, product: ShopProduct) -> str:
        self._reach()
        self.writes.append(("upsert_product", product.sku))
        self.products[product.sku] = product
        return self._jfsku(product.sku)

    @staticmethod
    def _jfsku(sku: str) -> str:
        return "J" + sku.upper().rjust(10, "0")[-10:]

    async def create_outbound(self, outbound: Outbound) -> str:
        self._reach()
        self.writes.append(("create_outbound", outbound.outbound_id))
        if outbound.outbound_id in self.outbounds:
            return outbound.outbound_id
        same_order = next(
            (
                oid
                for oid, o in self.outbounds.items()
                if o.merchant_outbound_number == outbound.merchant_outbound_number
                and self.statuses[oid] is not OutboundStatus.CANCELED
            ),
            None,
        )
        if same_order is not None:  # FFN refuses a second active outbound of one order: adopted
            return same_order
        self.outbounds[outbound.outbound_id] = outbound
        self.statuses[outbound.outbound_id] = OutboundStatus.PENDING
        self._changed(outbound.outbound_id)
        return outbound.outbound_id

    async def get_outbound(self, outbound_id: str) -> FulfillerStatus | None:
        self._reach()
        if outbound_id not in self.outbounds:
            return None
        return self._status(outbound_id)

    async def update_outbound(self, outbound: Outbound) -> None:
        self._reach()
        self.writes.append(("update_outbound", outbound.outbound_id))
        if self.statuses[outbound.outbound_id] not in EDITABLE_OUTBOUND_STATUSES:
            raise ManualActionNeeded("update forbidden", vendor_code="Outbounds_OutboundUpdateForbidden")
        self.outbounds[outbound.outbound_id] = outbound
        self._changed(outbound.outbound_id)

    async def cancel_outbound(self, outbound_id: str, reason: str) -> None:
        self._reach()
        self.writes.append(("cancel_outbound", outbound_id))
        if self.statuses[outbound_id] is OutboundStatus.CANCELED:
            return  # repeated after a lost answer
        if self.statuses[outbound_id] not in EDITABLE_OUTBOUND_STATUSES:
            raise ManualActionNeeded(
                "status change forbidden", vendor_code="Outbounds_OutboundStatusChangeForbidden"
            )
        self.statuses[outbound_id] = OutboundStatus.CANCELED
        self._changed(outbound_id)

    async def shipping_notifications(self, window: Window) -> AsyncIterator[Shipment]:
        self._reach()
        for s in self.shipments:
            if _in(window, s.updated_at):
                yield s

    async def outbound_changes(self, window: Window) -> AsyncIterator[FulfillerStatus]:
        self._reach()
        for c in self.changes:
            if _in(window, c.updated_at):
                yield c

    async def stock_changes(self, window: Window) -> AsyncIterator[StockLevel]:
        self._reach()
        for level in self.stock:
            if _in(window, level.updated_at):
                yield level

    async def stock_complete(self) -> AsyncIterator[StockLevel]:
        self._reach()
        latest = {level.jfsku: level for level in self.stock}  # one level per product, the last set
        for level in latest.values():
            yield level
        for sku in self.products:  # FFN lists every product, those without stock at 0
            jfsku = self._jfsku(sku)
            if jfsku not in latest:
                yield StockLevel(jfsku, sku, Decimal(0))

    async def aclose(self) -> None:
        return None


# Fulfiller statuses a shop reflects on its order (note, tag, and a real cancel when asked).
REFLECTED_STATUSES = frozenset({OutboundStatus.CANCELED, OutboundStatus.PARTIALLY_CANCELED})


@dataclass
class FakeShop:
    kind: str = "fake"
    stock_cas: bool = False
    orders: dict[str, ShopOrder] = field(default_factory=dict)
    products: list[ShopProduct] = field(default_factory=list)
    fulfilments: list[tuple[str, Shipment]] = field(default_factory=list)  # applied, each shipment once
    statuses: list[tuple[str, FulfillerStatus, bool]] = field(default_factory=list)  # reflected, each once
    stock: dict[str, int] = field(default_factory=dict)
    stock_writes: list[list[ShopStock]] = field(default_factory=list)
    known_skus: set[str] | None = None
    unmanaged_skus: set[str] = field(default_factory=set)  # the shop keeps no stock for these
    unreadable: list[UnreadableOrder] = field(default_factory=list)
    # Raised by every call while set: a shop that cannot be reached now, or that rejects the credentials.
    failure: SyncError | None = None

    def put(self, order: ShopOrder) -> None:
        self.orders[order.order_id] = order

    def _reach(self) -> None:
        if self.failure is not None:
            raise self.failure

    async def changed_products(self, window: Window) -> AsyncIterator[ShopProduct]:
        self._reach()
        for p in sorted(self.products, key=lambda p: p.updated_at or window.start):
            if _in(window, p.updated_at):
                yield p

    async def changed_orders(self, window: Window) -> AsyncIterator[ShopOrder | UnreadableOrder]:
        self._reach()
        everything: list[ShopOrder | UnreadableOrder] = [*self.orders.values(), *self.unreadable]
        for o in sorted(everything, key=lambda o: o.updated_at or window.start):
            if _in(window, o.updated_at):
                yield o

    async def get_order(self, order_id: str) -> ShopOrder | UnreadableOrder | None:
        self._reach()
        unreadable = next((u for u in self.unreadable if u.order_id == order_id), None)
        return self.orders.get(order_id, unreadable)

    def _existing(self, order: OrderRef) -> ShopOrder | UnreadableOrder:
        found = self.orders.get(order.order_id) or next(
            (u for u in self.unreadable if u.order_id == order.order_id), None
        )
        if found is None:
            raise RecordError(f"order {order.number} no longer exists in the shop", upstream=self.kind)
        return found

    async def apply_shipment(self, order: OrderRef, shipment: Shipment) -> None:
        self._reach()
        existing = self._existing(order)
        if any(o == order.order_id and s.shipment_id == shipment.shipment_id for o, s in self.fulfilments):
            return
        if isinstance(existing, ShopOrder) and existing.cancelled:
            raise ManualActionNeeded(f"order {order.number} is cancelled in the shop", upstream=self.kind)
        self.fulfilments.append((order.order_id, shipment))

    async def apply_order_status(
        self, order: OrderRef, status: FulfillerStatus, *, cancel_in_shop: bool
    ) -> None:
        self._reach()
        existing = self._existing(order)
        if status.status not in REFLECTED_STATUSES:
            return
        if any(o == order.order_id and s == status and c == cancel_in_shop for o, s, c in self.statuses):
            return
        self.statuses.append((order.order_id, status, cancel_in_shop))
        if cancel_in_shop and status.status is OutboundStatus.CANCELED and isinstance(existing, ShopOrder):
            self.orders[order.order_id] = replace(existing, cancelled=True)

    async def set_stock(self, levels: Sequence[ShopStock]) -> list[ItemResult]:
        self._reach()
        self.stock_writes.append(list(levels))
        results = []
        for level in levels:
            if self.known_skus is not None and level.sku not in self.known_skus:
                results.append(
                    ItemResult.failed(level.sku, ItemFailure.UNKNOWN_SKU, f"no such SKU {level.sku}")
                )
            elif level.sku in self.unmanaged_skus:
                results.append(
                    ItemResult.failed(level.sku, ItemFailure.NOT_MANAGED, f"no stock kept for {level.sku}")
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


class ListingShop(FakeShop):
    """A shop whose full reads are dear: it lists (id, last change) and counts what is read in full."""

    def __init__(self) -> None:
        super().__init__()
        self.full_reads: list[str] = []
        self.pages_read = 0

    async def order_versions(self, window: Window) -> AsyncIterator[tuple[str, datetime]]:
        async for order in super().changed_orders(window):
            assert order.updated_at is not None
            yield order.order_id, order.updated_at

    def changed_orders(self, window: Window) -> AsyncIterator[ShopOrder | UnreadableOrder]:
        self.pages_read += 1
        return super().changed_orders(window)

    async def get_order(self, order_id: str) -> ShopOrder | UnreadableOrder | None:
        self.full_reads.append(order_id)
        return await super().get_order(order_id)
