"""What the engine needs to know about a merchant, independent of how the config file spells it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from daemon.model import PaymentState


@dataclass(frozen=True, slots=True)
class CursorSettings:
    overlap_s: float = 120.0
    lag_s: float = 5.0
    first_window_s: float = 7 * 86400.0  # how far back the very first pull looks
    max_window_s: float = 86400.0  # longer catch-ups (downtime, resync) go in windows of this size
    # A due range longer than this is read as one window by the flow's catch-up reader, when the channel has
    # one (Shopify's bulk operations); None: always windows of max_window_s, page by page.
    catch_up_after_s: float | None = None


@dataclass(frozen=True, slots=True)
class EligibilityRules:
    payment_states: frozenset[PaymentState] = frozenset({PaymentState.PAID})
    payment_methods: frozenset[str] = frozenset()
    hold_minutes: float = 0.0
    skip_tags: frozenset[str] = frozenset()
    import_since: datetime | None = None
    statuses: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ChannelSettings:
    name: str
    kind: str
    order_prefix: str = ""
    stock_buffer: int = 0
    eligibility: EligibilityRules = field(default_factory=EligibilityRules)
    shipping_map: Mapping[str, str] = field(default_factory=dict)
    default_shipping_method: str | None = None
    cancel_in_shop: bool = False
    cursor: CursorSettings = field(default_factory=CursorSettings)

    def shipping_method_for(self, titles: tuple[str, ...]) -> str | None:
        for title in titles:
            if title in self.shipping_map:
                return self.shipping_map[title]
        return self.default_shipping_method


@dataclass(frozen=True, slots=True)
class MerchantSettings:
    merchant_id: str
    ffn_merchant_id: str
    warehouse_id: str
    channels: tuple[ChannelSettings, ...]
    product_master: str | None = None
    ffn_cursor: CursorSettings = field(default_factory=lambda: CursorSettings(overlap_s=120.0, lag_s=10.0))
    reconcile_days: int = 7
    personal_data_days: int = 90  # after an order closed, its names, addresses, e-mail, phone are removed
    push_batch: int = 200
    push_concurrency: int = 8
    max_attempts: int = 8
    retry_base_s: float = 30.0  # first record-level retry delay; doubles per attempt up to an hour

    def channel(self, name: str) -> ChannelSettings:
        for channel in self.channels:
            if channel.name == name:
                return channel
        raise KeyError(name)
