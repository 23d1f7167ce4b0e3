"""The engine's ports: what it asks of a shop (``ShopChannel``) and of the fulfiller (``Fulfiller``).

The engine owns these contracts; adapters implement them and import only the public core
(``daemon.ports``, ``daemon.model``, ``daemon.errors``, ``daemon.http``, ``daemon.clock``,
``daemon.secrets``, ``daemon.oauth``, ``daemon.webhooks.types``). Only ``daemon.wiring`` imports adapters
(tests/test_architecture.py enforces both directions).

Where to look: ``daemon.model`` holds what the world is (orders, products, shipments, stock, windows);
this module holds the Protocols and the records that say how one call went (``ItemResult`` with its
``ItemFailure``, ``UnreadableOrder``). Errors are the typed ones of ``daemon.errors``; the engine decides
by type and by these enums, never by message text.

Failure modes, the same for every method unless its docstring says otherwise:

- ``RetryableError`` (``RateLimited`` included): cannot be done *right now* (timeout, 5xx, throttled);
  the same call may succeed later. A read that cannot be done now raises this — it never answers
  "nothing" or None instead.
- ``RecordError``: permanent for this one record; the engine parks it with the message.
  ``ManualActionNeeded`` (a ``RecordError``) when a human already acted on the other side.
- ``ChannelFatalError`` (``AuthError`` included): nothing on this channel can succeed until an
  operator acts (credentials, missing scopes); the engine backs the channel off.

Orders, one way in every shop adapter:

- exists and maps: ``ShopOrder``;
- exists but cannot be mapped: ``UnreadableOrder`` (built with ``UnreadableOrder.of``, which gives
  every adapter the same reason wording), yielded or returned in place of the order, never raised
  and never skipped — the engine parks it and keeps the stock of its readable lines reserved;
- no longer exists (deleted, or the shop answers "not found"): ``get_order`` returns None; a pull
  simply does not list it;
- cannot be read right now: ``RetryableError`` / ``ChannelFatalError`` as above, never None.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from daemon.errors import RecordError, SyncError
from daemon.model import (
    FulfillerStatus,
    OrderLine,
    OrderRef,
    Outbound,
    Shipment,
    ShopOrder,
    ShopProduct,
    ShopStock,
    StockLevel,
    Window,
)

# What an adapter's mapping of one order may raise when the payload cannot be mapped: its own refusal
# (a ``RecordError`` or a ``ValueError`` subclass) or a shape it did not foresee. Only the mapping of
# the payload belongs inside such a ``try``: a transport error must keep its own type.
MAPPING_ERRORS: tuple[type[Exception], ...] = (
    RecordError,
    KeyError,
    TypeError,
    ValueError,
    ArithmeticError,
    AttributeError,
)


@dataclass(frozen=True, slots=True)
class UnreadableOrder:
    """An order that exists but cannot be mapped: parked with the reason instead of stopping the pull.

    ``lines`` are those the adapter could still read (SKU and quantity): they keep their stock reserved
    while the order is parked.
    """

    order_id: str
    number: str | None
    reason: str
    updated_at: datetime | None = None
    lines: tuple[OrderLine, ...] = ()

    @classmethod
    def of(
        cls,
        order_id: str,
        number: str | None,
        error: BaseException,
        *,
        updated_at: datetime | None = None,
        lines: tuple[OrderLine, ...] = (),
    ) -> UnreadableOrder:
        """The one way adapters report an order they cannot map (same wording for every shop)."""
        return cls(order_id, number or None, unreadable_reason(error), updated_at, lines)


def unreadable_reason(error: BaseException) -> str:
    """Why a record cannot be mapped, worded the same by every adapter (orders and products)."""
    detail = error.message if isinstance(error, SyncError) else f"{type(error).__name__}: {error}"
    return f"cannot be read: {detail}"


class ItemFailure(StrEnum):
    """Why one item of a batch write failed; the engine acts on this, never on the error text."""

    UNKNOWN_SKU = "unknown_sku"  # the shop sells nothing with this SKU: settled, reported once a day
    NOT_MANAGED = "not_managed"  # the shop has it but keeps no stock for it here (e.g. a parent product)
    REFUSED = "refused"  # the shop refused this value: sending it again unchanged will not help
    TRANSIENT = "transient"  # may work next time (timeout, no answer, a compare-and-swap conflict)


@dataclass(frozen=True, slots=True)
class ItemResult:
    key: str
    ok: bool
    error: str | None = None  # for the operator; never parsed
    reason: ItemFailure | None = None  # set whenever ``ok`` is false (None there counts as TRANSIENT)

    @classmethod
    def written(cls, key: str) -> ItemResult:
        return cls(key, True)

    @classmethod
    def failed(cls, key: str, reason: ItemFailure, error: str) -> ItemResult:
        return cls(key, False, error, reason)


@runtime_checkable
class ShopChannel(Protocol):
    """Shopify, Shopware 6, WooCommerce."""

    kind: str
    # True when set_stock writes compare-and-swap (the shop refuses a write over a quantity that moved since
    # it was read); False: the engine re-reads the orders changed since its last pull just before each write.
    stock_cas: bool

    def changed_products(self, window: Window) -> AsyncIterator[ShopProduct]:
        """Sellable units created or changed in the window, each once per pull, in no promised order
        (Shopware pages by creation order, as it does for orders; the engine's cursor moves per window).

        A unit that cannot be synced (no SKU, digital) is left out; one whose payload cannot be mapped is
        left out with an ERROR line naming it and ``unreadable_reason``, and the pull goes on with the rest.
        Raises ``RetryableError`` / ``ChannelFatalError`` when the pages cannot be read.
        """
        ...

    def changed_orders(self, window: Window) -> AsyncIterator[ShopOrder | UnreadableOrder]:
        """Orders created or changed in the window (any status), each once per pull, in no promised order
        (one changed again while the pull pages on may come twice, or in a later window).

        The engine keeps no per-order position (its cursor moves per window) and needs none. Shopify and
        WooCommerce happen to list oldest change first; Shopware cannot soundly: an order's change time is
        the latest of its own and its deliveries' and payments' dates (child writes don't bump the order),
        the criteria sort only by stored fields one after the other (never-updated orders, ``updatedAt``
        NULL, would all sort first), and keyset paging on those mutable dates would not be stable; it pages
        by ``autoIncrement`` (creation order) instead.

        An order that exists but cannot be mapped is yielded as ``UnreadableOrder`` (the engine parks it
        with the reason) and the pull goes on with the rest. Raises ``RetryableError`` /
        ``ChannelFatalError`` when a page cannot be read: the window is then read again, never skipped.
        """
        ...

    async def get_order(self, order_id: str) -> ShopOrder | UnreadableOrder | None:
        """One order by the shop's id.

        ``ShopOrder`` when it maps; ``UnreadableOrder`` when it exists but cannot be mapped; None only
        when the shop says it does not exist (deleted, or — Shopify without ``read_all_orders`` — older
        than 60 days). Raises ``RetryableError`` / ``ChannelFatalError`` when it cannot be read now.
        """
        ...

    async def apply_shipment(self, order: OrderRef, shipment: Shipment) -> None:
        """Create one fulfilment with the shipment's lines (``sku``/``line_id`` filled) and tracking.

        Idempotent per ``shipment.shipment_id`` where the shop allows detecting it. Raises
        ``RecordError`` when the order is gone or the lines cannot be matched, ``ManualActionNeeded``
        when the shop's state forbids it (cancelled there, fulfilled by hand), ``RetryableError`` when
        it may work later.
        """
        ...

    async def apply_order_status(
        self, order: OrderRef, status: FulfillerStatus, *, cancel_in_shop: bool
    ) -> None:
        """Reflect a fulfiller-side status (cancel, partial cancel) on the order: note + tag, and
        a real cancellation in the shop only when ``cancel_in_shop``. Idempotent; statuses with nothing
        to reflect are a no-op. Raises ``RecordError`` when the order is gone, ``RetryableError`` when
        it may work later."""
        ...

    async def set_stock(self, levels: Sequence[ShopStock]) -> list[ItemResult]:
        """Write absolute quantities, batched; one result per SKU, failures isolated per item.

        A failed item carries its ``ItemFailure`` (unknown SKU, not managed, refused, transient): the engine
        decides on that, never on the error text. Raises only when no item could be tried at all
        (``RetryableError`` / ``ChannelFatalError``).
        """
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class CatchUpReads(Protocol):
    """Optional for a ``ShopChannel``: one long window of changed orders read in one go, for large catch-ups
    (first import, resync, a long outage) — Shopify's bulk operations, which draw nothing from the API budget.

    Same records and the same promises as ``changed_orders`` (every order changed in the window, unmappable
    ones as ``UnreadableOrder``, ``RetryableError`` / ``ChannelFatalError`` when it cannot be read); the
    adapter falls back to its paged read itself when the one-go read is not possible.
    """

    def changed_orders_bulk(self, window: Window) -> AsyncIterator[ShopOrder | UnreadableOrder]: ...


@runtime_checkable
class SizedReads(Protocol):
    """Optional for a ``ShopChannel``: the orders flow's poll of a window, read in one go (Shopify: a bulk
    operation) when the window holds many orders — after a burst — else as ``changed_orders``. Decided by
    the adapter on a cheap count; a one-go read already running elsewhere never holds the window back.

    Same records and promises as ``changed_orders``. Other readers (stock re-reads of a handful of new
    orders, the reconcile) keep ``changed_orders``: they want the first orders at once, not the whole window.
    """

    def changed_orders_by_size(self, window: Window) -> AsyncIterator[ShopOrder | UnreadableOrder]: ...


@runtime_checkable
class OrderVersions(Protocol):
    """Optional for a ``ShopChannel`` whose full order reads are dear (Shopify's cost budget): which orders
    changed in a window and when, without their content. The reconcile lists these and reads in full
    (``get_order``) only the orders the snapshot does not hold at that version.

    Same failure modes as ``changed_orders``; the listing must be as complete as ``changed_orders``.
    """

    def order_versions(self, window: Window) -> AsyncIterator[tuple[str, datetime]]:
        """(order id, its last change) for every order changed in the window."""
        ...


@runtime_checkable
class Fulfiller(Protocol):
    """JTL-FFN."""

    async def upsert_product(self, product: ShopProduct) -> str:
        """Create or update by merchantSku, authorize to the fulfiller; returns the jfsku.

        Raises ``RecordError`` when FFN refuses the product's data.
        """
        ...

    async def create_outbound(self, outbound: Outbound) -> str:
        """Idempotent by ``outbound.outbound_id``: an existing active outbound is adopted; returns its id.

        Raises ``RecordError`` when FFN refuses the outbound's data, ``RetryableError`` (e.g. FFN's
        creation lock) when it may work later.
        """
        ...

    async def get_outbound(self, outbound_id: str) -> FulfillerStatus | None:
        """The outbound's fulfiller-side state; None when FFN does not know it."""
        ...

    async def update_outbound(self, outbound: Outbound) -> None:
        """Raises ``ManualActionNeeded`` when the fulfiller already works on it."""
        ...

    async def cancel_outbound(self, outbound_id: str, reason: str) -> None:
        """Raises ``ManualActionNeeded`` when the fulfiller already works on it."""
        ...

    def shipping_notifications(self, window: Window) -> AsyncIterator[Shipment]:
        """Shipping notifications created in the window, oldest first."""
        ...

    def outbound_changes(self, window: Window) -> AsyncIterator[FulfillerStatus]:
        """Outbounds whose status changed in the window, oldest first."""
        ...

    def stock_changes(self, window: Window) -> AsyncIterator[StockLevel]:
        """Absolute stock levels of the products whose stock changed in the window."""
        ...

    def stock_complete(self) -> AsyncIterator[StockLevel]:
        """Every product's absolute stock level (the reconciling full read)."""
        ...

    async def aclose(self) -> None: ...
