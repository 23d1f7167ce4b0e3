"""``[[channels]]``: one shop of the merchant. The ``kind`` picks the class and thereby the credentials table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal, Self

from pydantic import AwareDatetime, Field, field_validator, model_validator

from daemon.config.credentials import ShopifyCredentials, ShopwareCredentials, WooCommerceCredentials
from daemon.config.ffn import CursorConfig
from daemon.config.types import Bool, Duration, HttpUrl, Int, Seconds, Section, ShippingMethodId, matching
from daemon.config.webhooks import ChannelWebhooks, ChannelWebhooksTable
from daemon.model import PaymentState

ChannelName = Annotated[
    str,
    matching(
        r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}",
        "must be 1-63 letters, digits, '.', '_' or '-' (e.g. shopify-main)",
    ),
]
NonEmpty = Annotated[str, Field(min_length=1)]


class ChannelIntervals(Section):
    """Seconds between the scheduled cycles of this shop's jobs, by flow."""

    orders: Seconds = 60.0
    products: Seconds = 300.0
    stock: Seconds = 900.0
    """The safety comparison of this shop's stock: every change this process makes (FFN stock read,
    orders stored or changed) compares at once; this catches changes made outside it."""


class OrderRules(Section):
    """Which shop orders become FFN outbounds."""

    payment_states: tuple[PaymentState, ...] = (PaymentState.PAID,)
    payment_methods: tuple[NonEmpty, ...] = ()
    """Eligible whatever their payment state (e.g. ``cash_on_delivery``)."""
    hold_minutes: Annotated[Int, Field(ge=0)] = 0
    skip_tags: tuple[NonEmpty, ...] = ("no-ffn",)
    # Required on purpose: without it a first run would send the shop's whole order history to the warehouse.
    import_since: AwareDatetime
    statuses: tuple[NonEmpty, ...] | None = None
    """Shop order statuses allowed to export (verbatim); absent -> the kind's statuses that mean "to be
    shipped" (``SHIPPABLE_STATUSES``); an explicit empty list -> any status."""


# Per shop kind, the order statuses that mean "to be shipped", the default of ``orders.statuses``:
# - WooCommerce: ``processing`` (paid, or cash on delivery); ``on-hold`` awaits a manual payment
#   confirmation, ``completed`` was fulfilled already, ``pending`` is unpaid.
# - Shopware: the order states ``open`` and ``in_progress`` (``completed``/``cancelled`` are done).
# - Shopify: the open fulfilment states (``displayFulfillmentStatus``); ``ON_HOLD``, ``SCHEDULED``,
#   ``FULFILLED``, ``RESTOCKED`` and ``REQUEST_DECLINED`` are not for the warehouse.
SHIPPABLE_STATUSES: dict[str, tuple[str, ...]] = {
    "woocommerce": ("processing",),
    "shopware": ("open", "in_progress"),
    "shopify": ("UNFULFILLED", "PARTIALLY_FULFILLED", "OPEN", "IN_PROGRESS", "PENDING_FULFILLMENT"),
}


class ShippingRules(Section):
    default: ShippingMethodId | None = None
    """Used when no title matches; absent -> such orders are parked until mapped."""
    map: dict[NonEmpty, ShippingMethodId] = {}

    def method_for(self, titles: Sequence[str]) -> str | None:
        """The FFN shippingMethodId for the order's shipping titles: the first mapped title wins (exact match,
        then case- and space-insensitive), else ``default``."""
        folded = {key.strip().casefold(): value for key, value in reversed(self.map.items())}
        for title in titles:
            method = self.map.get(title) or folded.get(title.strip().casefold())
            if method:
                return method
        return self.default


class FulfilmentOptions(Section):
    notify_customer: Bool = True


class StatusOptions(Section):
    cancel_in_shop: Bool = False
    """Fulfiller cancel -> cancel the shop order; otherwise only a note and ``tag`` are added."""
    tag: NonEmpty = "ffn-cancelled"


class ChannelConfig(Section):
    """Everything common to shop channels; use the kind-specific subclasses."""

    name: ChannelName
    kind: str
    enabled: Bool = True
    order_prefix: Annotated[str, Field(max_length=32, pattern=r"^\S*$")] = ""
    """merchantOutboundNumber = order_prefix + shop order number."""
    stock_buffer: Annotated[Int, Field(ge=0)] = 0
    """Subtracted from every stock level written to this shop (never below 0)."""
    base_url: HttpUrl

    write_deadline_s: Annotated[Seconds, Field(le=3600)] = 90.0
    """One write to this shop (a stock page, a fulfilment, a status) is abandoned after this long; after
    3 failures in a row writes to this shop pause (60 s, doubling up to 15 min) while the others go on."""
    intervals: ChannelIntervals = ChannelIntervals()
    cursor: CursorConfig = CursorConfig()
    orders: OrderRules
    shipping: ShippingRules = ShippingRules()
    fulfilment: FulfilmentOptions = FulfilmentOptions()
    status: StatusOptions = StatusOptions()
    webhooks: ChannelWebhooks = ChannelWebhooksTable(enabled=False)
    """Shop deliveries make this channel's flows run at once (``[webhooks]``); polling goes on as configured."""

    @field_validator("name")
    @classmethod
    def _not_ffn(cls, name: str) -> str:
        # The merchant's FFN-side jobs, cursors and health rows are keyed "ffn": a shop of that name
        # would share them (and its stock job would be the FFN stock job).
        if name.lower() == "ffn":
            raise ValueError("'ffn' names the merchant's FFN-side flows; give the shop another name")
        return name

    def shipping_method_for(self, titles: Sequence[str]) -> str | None:
        return self.shipping.method_for(titles)

    @property
    def export_statuses(self) -> tuple[str, ...]:
        """The statuses the gate allows: configured, else the kind's default; empty means any."""
        if self.orders.statuses is not None:
            return self.orders.statuses
        return SHIPPABLE_STATUSES.get(self.kind, ())


MIN_BULK_CATCH_UP_S = 900.0  # a bulk operation's start and polls take longer than a short catch-up


class ShopifyChannelConfig(ChannelConfig):
    kind: Literal["shopify"]
    credentials: ShopifyCredentials
    include_test_orders: bool = False
    """Also export Shopify test orders (``Order.test``, e.g. paid with the Bogus gateway)."""
    bulk_catch_up_after: Annotated[Duration, Field(ge=MIN_BULK_CATCH_UP_S)] = 6 * 3600.0
    """Orders not read for longer than this (first import, resync, an outage) are caught up in one window:
    with one Shopify bulk operation, which draws nothing from the API budget, when it holds at least
    ``bulk_read_min_orders`` orders, else page by page."""
    bulk_read_min_orders: Annotated[int, Field(ge=1)] = 50
    """A window (a poll's or a catch-up's) holding at least this many orders, by Shopify's count, is read with
    one bulk operation (a few points in all) instead of pages (~18 points per order; a poll reads its first
    10 orders page by page, with the count in the same request). Fewer are read page
    by page, which is sooner for a handful of orders. Raise it for a shop with a large API budget (Plus)
    whose bursts should be read at once; lower it for a shop that runs out of budget."""

    @model_validator(mode="after")
    def _bulk_after_overlap(self) -> Self:
        if self.bulk_catch_up_after <= self.cursor.overlap_s + self.intervals.orders:
            raise ValueError(
                f"bulk_catch_up_after ({self.bulk_catch_up_after:.0f} s) must be longer than cursor.overlap_s "
                f"+ intervals.orders ({self.cursor.overlap_s + self.intervals.orders:.0f} s): otherwise every "
                "ordinary cycle would start a bulk operation"
            )
        return self


class ShopwareChannelConfig(ChannelConfig):
    kind: Literal["shopware"]
    credentials: ShopwareCredentials


class WooCommerceChannelConfig(ChannelConfig):
    kind: Literal["woocommerce"]
    credentials: WooCommerceCredentials


ShopChannelConfig = ShopifyChannelConfig | ShopwareChannelConfig | WooCommerceChannelConfig
"""Narrow on ``.kind`` (or isinstance) to get the typed ``credentials``."""
AnyChannelConfig = Annotated[ShopChannelConfig, Field(discriminator="kind")]
CHANNEL_KINDS = ("shopify", "shopware", "woocommerce")
