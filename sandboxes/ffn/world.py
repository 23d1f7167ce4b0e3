"""In-memory FFN world: the seeded network, products, outbounds, stock and the clock that stamps changes."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from daemon.clock import SYSTEM_CLOCK, Clock

MERCHANT_ID = "MERC"
FULFILLER_ID = "FULF"
WAREHOUSE_ID = "FULF04XX-12345-0001"
SECOND_WAREHOUSE_ID = "FULF04XX-12345-0002"

_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def ts(moment: datetime) -> str:
    """FFN timestamps: ISO-8601 with milliseconds and an explicit offset."""
    return moment.isoformat(timespec="milliseconds")


def base36(number: int, width: int) -> str:
    digits = ""
    while number:
        number, rest = divmod(number, 36)
        digits = _ALNUM[rest] + digits
    return digits.rjust(width, "0")[-width:]


@dataclass
class Knobs:
    chunk_size: int = 50  # entries per updates-feed chunk and per stocks/complete page
    access_token_ttl_s: float = 1800.0  # the spec's example response says expires_in 1800
    creation_delay_s: float = 0.0  # how long an outbound creation holds the merchant's creation lock
    error_metadata_key: str = "errorMetaData"  # the schema's spelling; the spec's examples use errorMetadata
    default_top: int = 50  # the spec's $top default
    # Whether stockLevel is net of reserved/blocked stock ("net") or the gross quantity ("gross").
    stock_level: str = "net"
    # An updates feed answers at most this much of a window (its "to" says how far); 0: all of it.
    max_feed_window_s: float = 0.0
    # "ok"; "missing_scope" (every API call 403, no body); "not_in_portal" (404, no body): the
    # spec's troubleshooting cases.
    account: str = "ok"
    # How a spent refresh token is refused: "invalid_grant" (400) or "invalid_request" (401).
    refused_refresh: str = "invalid_grant"
    clock: Clock = SYSTEM_CLOCK

    KEYS = (
        "chunk_size",
        "access_token_ttl_s",
        "creation_delay_s",
        "error_metadata_key",
        "default_top",
        "stock_level",
        "max_feed_window_s",
        "account",
        "refused_refresh",
    )
    CHOICES = {
        "stock_level": ("net", "gross"),
        "account": ("ok", "missing_scope", "not_in_portal"),
        "refused_refresh": ("invalid_grant", "invalid_request"),
    }

    def update(self, values: dict[str, Any]) -> None:
        unknown = set(values) - set(self.KEYS)
        if unknown:
            raise ValueError(f"unknown knobs: {sorted(unknown)}; allowed: {sorted(self.KEYS)}")
        for key, value in values.items():
            if key in self.CHOICES and value not in self.CHOICES[key]:
                raise ValueError(f"knob {key} must be one of {self.CHOICES[key]}, got {value!r}")
            setattr(self, key, value)

    def as_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self.KEYS}


@dataclass
class StockSlot:
    """Stock of one product in one warehouse. ``level`` is what is available for shipment."""

    jfsku: str
    warehouse_id: str
    level: Decimal = Decimal(0)
    reserved: Decimal = Decimal(0)
    blocked: Decimal = Decimal(0)
    announced: Decimal = Decimal(0)
    version: int = 0
    # (outboundId, outboundItemId) -> reserved quantity
    reservations: dict[tuple[str, str], Decimal] = field(default_factory=dict)


@dataclass
class World:
    knobs: Knobs
    merchant_id: str = MERCHANT_ID
    fulfiller_id: str = FULFILLER_ID
    fulfillers: list[dict[str, Any]] = field(default_factory=list)
    warehouses: list[dict[str, Any]] = field(default_factory=list)
    shipping_methods: list[dict[str, Any]] = field(default_factory=list)
    products: dict[str, dict[str, Any]] = field(default_factory=dict)  # jfsku -> Product
    authorizations: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    outbounds: dict[str, dict[str, Any]] = field(default_factory=dict)  # outboundId -> Outbound
    # merchantOutboundNumber -> outboundIds in creation order (the number never changes after a create):
    # the duplicate check of every create and a lookup by number stay O(1) in a world of many outbounds.
    outbound_ids_by_number: dict[str, list[str]] = field(default_factory=dict)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    stock: dict[tuple[str, str], StockSlot] = field(default_factory=dict)
    stock_changes: list[dict[str, Any]] = field(default_factory=list)
    # The newest change per (jfsku, warehouse), so marking the previous one not `current` is O(1).
    current_changes: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    creating: bool = False  # an outbound creation holds the merchant's lock
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def clock(self) -> Clock:
        return self.knobs.clock

    def now(self) -> datetime:
        return self.clock.now()

    def next_number(self) -> int:
        return next(self._counter)

    def new_jfsku(self) -> str:
        return f"{self.merchant_id}01{base36(self.next_number(), 5)}"

    def new_outbound_id(self) -> str:
        return f"{self.merchant_id}02{base36(self.next_number(), 10)}"

    def modification_info(self, created: datetime | None = None) -> dict[str, Any]:
        now = ts(self.now())
        return {"createdAt": ts(created) if created else now, "updatedAt": now, "state": "New"}

    def touch(self, doc: dict[str, Any]) -> None:
        """Stamp a change: it now shows up in the updates feed for the current instant."""
        info = doc["modificationInfo"]
        info["updatedAt"] = ts(self.now())
        info["state"] = "Modified"

    def product_by_sku(self, merchant_sku: str) -> dict[str, Any] | None:
        for product in self.products.values():
            if product["merchantSku"] == merchant_sku:
                return product
        return None

    def find_outbound(self, key: str) -> dict[str, Any] | None:
        """By outboundId or merchantOutboundNumber, as every /outbounds/{outboundId} path allows."""
        if key in self.outbounds:
            return self.outbounds[key]
        matches = self.outbounds_numbered(key)
        active = [o for o in matches if o["status"] != "Canceled"]
        candidates = active or matches
        return candidates[-1] if candidates else None

    def add_outbound(self, doc: dict[str, Any]) -> None:
        self.outbounds[doc["outboundId"]] = doc
        self.outbound_ids_by_number.setdefault(doc["merchantOutboundNumber"], []).append(doc["outboundId"])

    def outbounds_numbered(self, number: str) -> list[dict[str, Any]]:
        """The outbounds created under ``number``, oldest first."""
        return [self.outbounds[i] for i in self.outbound_ids_by_number.get(number, ())]

    def shipping_method(self, shipping_method_id: str) -> dict[str, Any] | None:
        return next((m for m in self.shipping_methods if m["shippingMethodId"] == shipping_method_id), None)

    def slot(self, jfsku: str, warehouse_id: str) -> StockSlot:
        key = (jfsku, warehouse_id)
        if key not in self.stock:
            self.stock[key] = StockSlot(jfsku=jfsku, warehouse_id=warehouse_id)
        return self.stock[key]
