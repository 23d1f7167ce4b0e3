"""Scripting a shop world through the uniform control API, and reading results back."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any
from urllib.parse import quote

from sandboxes.world.running import InProcessSandbox
from tests.e2e.stack import Stack

SKUS = ("TSHIRT-S", "TSHIRT-M", "MUG", "POSTER", "CAP")
ADDRESS = {"first_name": "Jürgen", "last_name": "Weiß", "street": "Königsallee 12", "zip": "40212",
           "city": "Düsseldorf", "country_code": "DE", "email": "jw@example.org"}  # fmt: skip


async def seed_catalogue(s: Stack, shop: InProcessSandbox) -> None:
    for sku in SKUS:
        await s.control(
            shop, "POST", "products", {"sku": sku, "name": sku.title(), "price": "12.50", "weight_kg": 0.4}
        )


async def new_order(s: Stack, shop: InProcessSandbox, rng: random.Random, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "lines": [
            {"sku": sku, "qty": rng.randint(1, 3), "price": "12.50"}
            for sku in rng.sample(SKUS, rng.randint(1, 2))
        ],
        "paid": True,
        "shipping_method": rng.choice(["Standard", "Express"]),
        "address": ADDRESS,
    }
    body.update(overrides)
    created: dict[str, Any] = await s.control(shop, "POST", "orders", body)
    return created


def ref(order: dict[str, Any]) -> str:
    """The order's id as the control API takes it in a path."""
    return quote(str(order["id"]), safe="")


async def shop_order(s: Stack, shop: InProcessSandbox, order_id: str) -> dict[str, Any]:
    data: dict[str, Any] = await s.control(shop, "GET", f"orders/{quote(str(order_id), safe='')}")
    return data


async def outbounds(s: Stack) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = await s.control(s.ffn, "GET", "outbounds")
    return data


def by_number(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    counts = Counter(o["merchantOutboundNumber"] for o in items)
    duplicated = [n for n, c in counts.items() if c > 1]
    assert not duplicated, f"duplicated outbounds: {duplicated}"
    return {o["merchantOutboundNumber"]: o for o in items}
