"""The shop's data: reference rows, products and orders built the way a storefront checkout would.

Everything a test or the demo scripts (control API) ends up here; the Admin API routes only read
and write through ``Store``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from daemon.clock import Clock
from sandboxes.shopware import states
from sandboxes.shopware.store import Row, Store, new_id, stable_id

DEFAULT_CURRENCY_ID = "b7d2554b0ce847cd82f3ac9bd1c0dfca"  # Shopware's Defaults::CURRENCY
LANGUAGE_ID = "2fbb5fe2e29a4d70aa5854ce7ce3e20b"  # Defaults::LANGUAGE_SYSTEM
SALES_CHANNEL_ID = stable_id("sales_channel", "storefront")
TAX_ID = stable_id("tax", "19")
ROUNDING = {"decimals": 2, "interval": 0.01, "roundForNet": True}


def stamp(when: datetime) -> str:
    """Shopware's JSON date format: milliseconds and an explicit offset."""
    return when.isoformat(timespec="milliseconds")


class WorldError(ValueError):
    """Bad control-API input: the message says which field and what to send instead."""


@dataclass
class World:
    store: Store
    clock: Clock
    version: str
    order_counter: int = 10000
    extras: dict[str, Any] = field(default_factory=dict)
    # (event name, row, written fields or None for an insert): what webhooks are called for
    on_event: Callable[[str, Row, list[str] | None], None] | None = None

    def now(self) -> str:
        return stamp(self.clock.now())

    def event(self, name: str, row: Row, fields: list[str] | None = None) -> None:
        if self.on_event is not None:
            self.on_event(name, row, fields)

    # reference data ------------------------------------------------------------------------
    def install_reference_data(self) -> None:
        created = self.now()
        states.install(self.store, created)
        self.store.insert(
            "currency",
            {
                "id": DEFAULT_CURRENCY_ID,
                "factor": 1.0,
                "symbol": "€",
                "isoCode": "EUR",
                "shortName": "EUR",
                "name": "Euro",
                "itemRounding": ROUNDING,
                "totalRounding": ROUNDING,
                "translated": {"shortName": "EUR", "name": "Euro"},
                "createdAt": created,
            },
        )
        self.payment_method("Prepayment", "payment_prepayment")

    def country(self, iso: str) -> Row:
        iso = iso.upper()
        row_id = stable_id("country", iso)
        row = self.store.get("country", row_id)
        if row is None:
            row = self.store.insert(
                "country",
                {
                    "id": row_id,
                    "iso": iso,
                    "name": iso,
                    "active": True,
                    "shippingAvailable": True,
                    "addressFormat": {},
                    "translated": {"name": iso},
                    "createdAt": self.now(),
                },
            )
        return row

    def country_state(self, country: Row, code: str) -> Row:
        short = code if "-" in code else f"{country['iso']}-{code}"
        row_id = stable_id("country_state", short)
        return self.store.get("country_state", row_id) or self.store.insert(
            "country_state",
            {
                "id": row_id,
                "countryId": country["id"],
                "shortCode": short,
                "name": short,
                "translated": {"name": short},
                "createdAt": self.now(),
            },
        )

    def shipping_method(self, name: str) -> Row:
        row_id = stable_id("shipping_method", name)
        return self.store.get("shipping_method", row_id) or self.store.insert(
            "shipping_method",
            {
                "id": row_id,
                "name": name,
                "technicalName": "shipping_" + "_".join(name.lower().split()),
                "active": True,
                "deliveryTimeId": stable_id("delivery_time", "1-3"),
                "trackingUrl": None,
                "translated": {"name": name},
                "createdAt": self.now(),
            },
        )

    def payment_method(self, name: str, technical: str) -> Row:
        row_id = stable_id("payment_method", technical)
        return self.store.get("payment_method", row_id) or self.store.insert(
            "payment_method",
            {
                "id": row_id,
                "name": name,
                "technicalName": technical,
                "active": True,
                "translated": {"name": name},
                "createdAt": self.now(),
            },
        )

    def tag(self, name: str) -> Row:
        for row in self.store.rows("tag"):
            if row["name"] == name:
                return row
        return self.store.insert("tag", {"id": new_id(), "name": name, "createdAt": self.now()})

    # products ------------------------------------------------------------------------------
    def product_by_sku(self, sku: str) -> Row | None:
        return next((r for r in self.store.rows("product") if r["productNumber"] == sku), None)

    def add_product(self, body: dict[str, Any]) -> Row:
        sku = _required_str(body, "sku", "product")
        if self.product_by_sku(sku) is not None:
            raise WorldError(f"product sku {sku!r} exists already; PATCH /_sandbox/products/{sku} changes it")
        parent = None
        if body.get("parent_sku"):
            parent = self.product_by_sku(str(body["parent_sku"]))
            if parent is None:
                raise WorldError(f"parent_sku {body['parent_sku']!r} not found; create the parent first")
        # A root product always has a price in Shopware; variants inherit it.
        gross = Decimal(str(body.get("price") if body.get("price") is not None else 0))
        name = body.get("name") if parent is not None else _required_str(body, "name", "product")
        row: Row = {
            "id": new_id(),
            "versionId": stable_id("version", "live"),
            "parentId": parent["id"] if parent else None,
            "productNumber": sku,
            "autoIncrement": self.store.next_auto_increment("product"),
            "active": True,
            "stock": int(body.get("stock", 0)),
            "availableStock": int(body.get("stock", 0)),
            "name": name,
            "translated": {"name": name},
            "ean": body.get("ean"),
            "weight": float(body["weight_kg"]) if body.get("weight_kg") is not None else None,
            "width": body.get("width_mm"),
            "height": body.get("height_mm"),
            "length": body.get("length_mm"),
            "taxId": None if parent else TAX_ID,
            "price": None if parent and body.get("price") is None else [_price(gross)],
            "childCount": 0,
            "createdAt": self.now(),
            "updatedAt": None,
        }
        if self.store.is_67:
            row["type"] = "digital" if body.get("digital") else "physical"
        else:
            row["states"] = ["is-download"] if body.get("digital") else ["is-physical"]
        if parent is not None:
            parent["childCount"] = int(parent.get("childCount") or 0) + 1
        self.store.insert("product", row)
        self.event("product.written", row)
        return row

    def change_product(self, sku: str, body: dict[str, Any]) -> Row:
        row = self.product_by_sku(sku)
        if row is None:
            raise KeyError(sku)
        fields = {"name": "name", "ean": "ean", "weight_kg": "weight", "stock": "stock"}
        for key, value in body.items():
            if key == "price":
                row["price"] = [_price(Decimal(str(value)))]
            elif key in fields:
                row[fields[key]] = value
                if key == "name":
                    row["translated"] = {"name": value}
            else:
                raise WorldError(f"unknown product field {key!r}; allowed: {sorted([*fields, 'price'])}")
        row["updatedAt"] = self.now()
        self.event("product.written", row, [*(fields.get(k, k) for k in body), "updatedAt"])
        return row

    def stock(self) -> dict[str, int]:
        return {
            r["productNumber"]: int(r["stock"]) for r in self.store.rows("product") if not r.get("childCount")
        }

    def adjust_stock(self, sku: str | None, delta: int) -> None:
        product = self.product_by_sku(sku) if sku else None
        if product is not None:
            product["stock"] = int(product["stock"]) + delta
            product["availableStock"] = product["stock"]


def _required_str(body: dict[str, Any], key: str, what: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise WorldError(f"{what}: {key!r} is required (a non-empty string)")
    return value


def _price(gross: Decimal) -> dict[str, Any]:
    net = (gross / Decimal("1.19")).quantize(Decimal("0.01"))
    return {"currencyId": DEFAULT_CURRENCY_ID, "gross": float(gross), "net": float(net), "linked": True}
