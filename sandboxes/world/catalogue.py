"""The scripted world: a catalogue in every shop, FFN stock, and new paid orders (in bulk or as a stream).

Bulk calls go out ``CONCURRENCY`` at a time: the benchmark builds worlds of thousands of products and
orders through the control API.
"""

from __future__ import annotations

import asyncio
import functools
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from loguru import logger

from sandboxes.world.control import Control
from sandboxes.world.errors import WorldError

_NAMES = (
    "Trail Mug",
    "Canvas Tote",
    "Merino Socks",
    "Desk Lamp",
    "Notebook A5",
    "Water Bottle",
    "Wool Beanie",
    "Phone Stand",
    "Tea Sampler",
    "Linen Apron",
    "Bike Light",
    "Yoga Strap",
)
T = TypeVar("T")
CONCURRENCY = 32
_CITIES = (("10115", "Berlin"), ("20095", "Hamburg"), ("80331", "München"), ("50667", "Köln"))


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    ean: str
    price: str
    weight_kg: float

    def as_control(self) -> dict[str, object]:
        return {
            "sku": self.sku,
            "name": self.name,
            "ean": self.ean,
            "price": self.price,
            "weight_kg": self.weight_kg,
            "stock": 0,
        }


def _ean13(body: str) -> str:
    digits = [int(d) for d in body]
    check = (10 - sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10) % 10
    return body + str(check)


def catalogue(size: int = 12, prefix: str = "DEMO") -> list[Product]:
    return [
        Product(
            sku=f"{prefix}-{i + 1:04d}",
            name=_NAMES[i % len(_NAMES)] + (f" {i // len(_NAMES) + 1}" if i >= len(_NAMES) else ""),
            ean=_ean13(f"400638{i + 1:06d}"),
            price=f"{9 + (i * 7) % 40}.90",
            weight_kg=round(0.1 + (i % 9) * 0.15, 2),
        )
        for i in range(size)
    ]


async def bounded(calls: Iterable[Callable[[], Awaitable[T]]], limit: int = CONCURRENCY) -> list[T]:
    gate = asyncio.Semaphore(limit)

    async def one(call: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await call()

    return list(await asyncio.gather(*(one(call) for call in calls)))


async def seed_products(shops: Iterable[Control], products: Sequence[Product]) -> None:
    calls = [functools.partial(c.post, "products", p.as_control()) for c in shops for p in products]
    await bounded(calls)


async def new_catalogue(shops: Iterable[Control], size: int, prefix: str = "DEMO") -> list[Product]:
    """``size`` products, the same in every shop."""
    items = catalogue(size, prefix)
    await seed_products(shops, items)
    return items


async def book_stock(ffn: Control, skus: Sequence[str], level: int) -> None:
    """The warehouse books ``level`` units of every SKU (FFN knows stock only of products it was sent)."""
    await bounded([functools.partial(ffn.put, f"stock/{sku}", {"level": level}) for sku in skus])


def order_body(rng: random.Random, products: Sequence[Product], number: int) -> dict[str, object]:
    picks = rng.sample(list(products), k=min(len(products), rng.choice((1, 1, 2, 3))))
    zip_code, city = rng.choice(_CITIES)
    return {
        "lines": [{"sku": p.sku, "qty": rng.choice((1, 1, 2, 3)), "price": p.price} for p in picks],
        "paid": True,
        "shipping_method": "Standard",
        "address": {
            "first_name": "Erika",
            "last_name": f"Muster{number}",
            "street": f"Hauptstraße {number % 200 + 1}",
            "zip": zip_code,
            "city": city,
            "country_code": "DE",
            "email": f"buyer{number}@example.com",
        },
        "tags": [],
    }


@dataclass(frozen=True)
class CreatedOrder:
    kind: str
    id: str
    number: str
    created_at: float  # wall clock (time.time()) right after the shop confirmed it


async def create_order(
    kind: str, control: Control, rng: random.Random, products: Sequence[Product], number: int
) -> CreatedOrder:
    answer = await control.post("orders", order_body(rng, products, number))
    return CreatedOrder(kind, str(answer["id"]), str(answer["number"]), time.time())


async def place_orders(
    control: Control, kind: str, products: Sequence[Product], count: int, *, seed: int = 11, start: int = 0
) -> list[CreatedOrder]:
    """``count`` orders at once, each drawn from its own seeded generator (reproducible in any order)."""
    calls = [
        functools.partial(create_order, kind, control, random.Random(seed * 1_000_003 + n), products, n)
        for n in range(start, start + count)
    ]
    return await bounded(calls)


async def order_stream(
    shops: Mapping[str, Control],
    products: Sequence[Product],
    rate_per_s: float,
    until: float,
    created: list[CreatedOrder],
    seed: int = 7,
    *,
    announce: bool = True,
) -> None:
    """New paid orders, round-robin over the shops, at ``rate_per_s`` until ``time.monotonic() >= until``."""
    rng = random.Random(seed)
    kinds = list(shops)
    period = 1.0 / rate_per_s
    next_at = time.monotonic()
    number = 0
    while next_at < until:
        kind = kinds[number % len(kinds)]
        order = await create_order(kind, shops[kind], rng, products, number)
        created.append(order)
        if announce:
            logger.info("demo: customer placed order {} in the {} shop", order.number, kind)
        number += 1
        next_at += period
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))


async def wait_for_ffn_products(ffn: Control, skus: Sequence[str], timeout_s: float) -> None:
    """Wait until the products flow has created every SKU in FFN (stock can only be booked on known SKUs)."""
    deadline = time.monotonic() + timeout_s
    missing = set(skus)
    while time.monotonic() < deadline:
        known = {p.get("merchantSku") for p in await ffn.get("products")}
        missing = set(skus) - known
        if not missing:
            return
        await asyncio.sleep(0.5)
    raise WorldError(
        f"{len(missing)} of {len(skus)} products never reached FFN within {timeout_s:.0f} s "
        f"(e.g. {sorted(missing)[0]}): the products flow is not working, see the log above"
    )
