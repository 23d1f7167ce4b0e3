"""The contracts between the engine and the adapters. Keep them small.

Adapters import only the public core (``daemon.model``, ``daemon.errors``, ``daemon.http``,
``daemon.clock``, ``daemon.secrets``); only the app wiring imports adapters.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol, runtime_checkable

from daemon.model import (
    FulfillerStatus,
    ItemResult,
    OrderRef,
    Outbound,
    Shipment,
    ShopOrder,
    ShopProduct,
    ShopStock,
    StockLevel,
    UnreadableOrder,
    Window,
)
from daemon.oauth import TokenSet, TokenStore


@runtime_checkable
class ShopChannel(Protocol):
    """Shopify, Shopware 6, WooCommerce."""

    kind: str
    # True when set_stock writes compare-and-swap (the shop refuses a write over a quantity that moved since
    # it was read); False: the engine re-reads the orders changed since its last pull just before each write.
    stock_cas: bool

    def changed_products(self, window: Window) -> AsyncIterator[ShopProduct]:
        """Sellable units created or changed in the window, oldest change first."""
        ...

    def changed_orders(self, window: Window) -> AsyncIterator[ShopOrder | UnreadableOrder]:
        """Orders created or changed in the window (any status), oldest change first.

        An order that cannot be mapped is yielded as ``UnreadableOrder`` (it is parked with the reason);
        the pull goes on with the rest.
        """
        ...

    async def get_order(self, order_id: str) -> ShopOrder | None:
        """One order by the shop's id; None when it no longer exists."""
        ...

    async def apply_shipment(self, order: OrderRef, shipment: Shipment) -> None:
        """Create one fulfilment with the shipment's lines (``sku``/``line_id`` filled) and tracking.

        Idempotent per ``shipment.shipment_id`` where the shop allows detecting it.
        """
        ...

    async def apply_order_status(
        self, order: OrderRef, status: FulfillerStatus, *, cancel_in_shop: bool
    ) -> None:
        """Reflect a fulfiller-side status (cancel, partial cancel) on the order: note + tag, and
        a real cancellation in the shop only when ``cancel_in_shop``."""
        ...

    async def set_stock(self, levels: Sequence[ShopStock]) -> list[ItemResult]:
        """Write absolute quantities, batched; one result per SKU, failures isolated per item.

        A failed item carries its ``ItemFailure`` (unknown SKU, not managed, refused, transient): the engine
        decides on that, never on the error text.
        """
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class Fulfiller(Protocol):
    """JTL-FFN."""

    async def upsert_product(self, product: ShopProduct) -> str:
        """Create or update by merchantSku, authorize to the fulfiller; returns the jfsku."""
        ...

    async def create_outbound(self, outbound: Outbound) -> str:
        """Idempotent by ``outbound.outbound_id``: an existing active outbound is adopted."""
        ...

    async def get_outbound(self, outbound_id: str) -> FulfillerStatus | None: ...

    async def update_outbound(self, outbound: Outbound) -> None:
        """Raises ``ManualActionNeeded`` when the fulfiller already works on it."""
        ...

    async def cancel_outbound(self, outbound_id: str, reason: str) -> None:
        """Raises ``ManualActionNeeded`` when the fulfiller already works on it."""
        ...

    def shipping_notifications(self, window: Window) -> AsyncIterator[Shipment]: ...

    def outbound_changes(self, window: Window) -> AsyncIterator[FulfillerStatus]: ...

    def stock_changes(self, window: Window) -> AsyncIterator[StockLevel]: ...

    def stock_complete(self) -> AsyncIterator[StockLevel]: ...

    async def aclose(self) -> None: ...


__all__ = ["Fulfiller", "ShopChannel", "TokenSet", "TokenStore"]
