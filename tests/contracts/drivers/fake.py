"""The engine's fake shop (tests/daemon/engine/fakes.py): the engine tests rely on it behaving as the
real shops do, so it runs the same contract. It has no wire: rate limits and malformed answers do not
apply; "cannot be read now" and rejected credentials are its ``failure``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from daemon.errors import AuthError, RetryableError
from daemon.model import OrderLine, OrderRef, PaymentState, ShopOrder, ShopProduct, ShopStock
from daemon.ports import ItemFailure, ShopChannel, UnreadableOrder
from tests.contracts.drivers.base import STATUS_TAG, OrderState, Shipped, ShopDriver
from tests.daemon.engine.fakes import FakeShop


@dataclass
class FakeDriver(ShopDriver):
    shop: FakeShop = field(default_factory=lambda: FakeShop(known_skus=set()))

    @property
    def over_http(self) -> bool:
        return False

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def channel(self, *, page_size: int | None = None) -> ShopChannel:
        return self.shop

    def channel_with_wrong_secret(self) -> tuple[ShopChannel, str]:
        secret = "fake-secret-0123456789"
        rejected = AuthError("credentials rejected", upstream="fake", status=401)
        return FakeShop(known_skus=set(), failure=rejected), secret

    async def product(self, sku: str) -> None:
        assert self.shop.known_skus is not None
        self.shop.known_skus.add(sku)
        now = self.clock.now()
        self.shop.products.append(ShopProduct(sku, f"Product {sku}", f"v-{sku}", updated_at=now))

    async def order(self, lines: Sequence[tuple[str, int]], *, paid: bool = True) -> OrderRef:
        number = str(len(self.shop.orders) + len(self.shop.unreadable) + 1001)
        now = self.clock.now()
        self.shop.put(
            ShopOrder(
                order_id=f"o-{number}",
                number=number,
                created_at=now,
                updated_at=now,
                currency="EUR",
                total=Decimal(10) * sum(qty for _, qty in lines),
                payment_state=PaymentState.PAID if paid else PaymentState.PENDING,
                lines=tuple(
                    OrderLine(f"l-{number}-{i}", sku, f"Product {sku}", qty, Decimal(10))
                    for i, (sku, qty) in enumerate(lines)
                ),
            )
        )
        return OrderRef(f"o-{number}", number)

    async def edit(self, ref: OrderRef) -> None:
        order = self.shop.orders[ref.order_id]
        self.shop.put(replace(order, note="leave at the door", updated_at=self.clock.now()))

    async def cancel(self, ref: OrderRef) -> None:
        order = self.shop.orders[ref.order_id]
        self.shop.put(replace(order, cancelled=True, updated_at=self.clock.now()))

    async def make_unreadable(self, ref: OrderRef) -> str:
        order = self.shop.orders.pop(ref.order_id)
        reason = f"cannot be read: order {ref.number}: the currency is missing"
        self.shop.unreadable.append(
            UnreadableOrder(ref.order_id, ref.number, reason, order.updated_at, order.lines)
        )
        return reason

    async def delete(self, ref: OrderRef) -> None:
        del self.shop.orders[ref.order_id]

    def fail_every_call(self, status: int) -> None:
        self.shop.failure = (
            RetryableError("shop unavailable", upstream="fake", status=status) if status else None
        )

    async def shipped(self, ref: OrderRef) -> Shipped:
        applied = [s for order_id, s in self.shop.fulfilments if order_id == ref.order_id]
        trackings = tuple(t.number or "" for s in applied for t in s.trackings)
        shipped: dict[str, Decimal] = {}
        for s in applied:
            for line in s.lines:
                key = line.line_id or line.sku or ""
                shipped[key] = shipped.get(key, Decimal(0)) + line.quantity
        order = self.shop.orders[ref.order_id]
        complete = all(shipped.get(line.line_id, Decimal(0)) >= line.quantity for line in order.lines)
        return Shipped(trackings, complete)

    async def order_state(self, ref: OrderRef) -> OrderState:
        reflected = [s for order_id, s, _ in self.shop.statuses if order_id == ref.order_id]
        notes = "\n".join(
            f"ffn-sync: the fulfiller {s.status.value} outbound {s.outbound_id} ({s.cancel_reason})"
            for s in reflected
        )
        tags = (STATUS_TAG,) if reflected else ()
        return OrderState(self.shop.orders[ref.order_id].cancelled, tags, notes)

    async def stock(self) -> dict[str, int | None]:
        return {sku: self.shop.stock.get(sku) for sku in self.shop.known_skus or ()}

    async def refused_item(self) -> tuple[ShopStock, ItemFailure]:
        await self.product("PARENT-1")
        self.shop.unmanaged_skus.add("PARENT-1")
        return ShopStock("PARENT-1", 3), ItemFailure.NOT_MANAGED

    def writes(self) -> int:
        return len(self.shop.fulfilments) + len(self.shop.statuses) + len(self.shop.stock_writes)
