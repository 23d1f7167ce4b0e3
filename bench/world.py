"""Building a benchmark world fast: many products and orders through the control API, FFN stock, DB probes."""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

from sandboxes.demo.control import Control
from sandboxes.demo.stage import Stage
from sandboxes.demo.world import CreatedOrder, Product, catalogue, create_order

T = TypeVar("T")
CONCURRENCY = 32
STOCK_LEVEL = 1_000_000  # never the bottleneck: oversale is off, so short stock would park orders


async def bounded(calls: Iterable[Callable[[], Awaitable[T]]], limit: int = CONCURRENCY) -> list[T]:
    gate = asyncio.Semaphore(limit)

    async def one(call: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await call()

    return list(await asyncio.gather(*(one(call) for call in calls)))


async def seed_products(shops: Sequence[Control], products: Sequence[Product]) -> None:
    calls = [functools.partial(c.post, "products", p.as_control()) for c in shops for p in products]
    await bounded(calls)


async def book_stock(ffn: Control, skus: Sequence[str], level: int = STOCK_LEVEL) -> None:
    await bounded([functools.partial(ffn.put, f"stock/{sku}", {"level": level}) for sku in skus])


async def place_orders(
    control: Control, kind: str, products: Sequence[Product], count: int, *, seed: int = 11, start: int = 0
) -> list[CreatedOrder]:
    calls = [
        functools.partial(create_order, kind, control, random.Random(seed * 1_000_003 + n), products, n)
        for n in range(start, start + count)
    ]
    return await bounded(calls)


async def new_world(stage: Stage, products: int, prefix: str = "BENCH") -> list[Product]:
    """Products in every shop; after the first ``once`` call ``book_stock`` for them."""
    items = catalogue(products, prefix)
    await seed_products(list(stage.shops.values()), items)
    return items


async def synced_orders(stage: Stage) -> int:
    value = await stage.pool.fetchval(
        "SELECT count(*) FROM snapshot WHERE entity = 'order' AND state = 'synced' AND remote_id IS NOT NULL"
    )
    return int(value or 0)


async def forget_cursors(stage: Stage) -> None:
    """Make the next run re-read everything, as after a lost cursor or ``resync``: the snapshot stays."""
    await stage.pool.execute("DELETE FROM cursors")


async def log_position(control: Control) -> int:
    """The request log's last sequence number: traffic after it belongs to what runs next."""
    answer: Any = await control.get("requests?since=999999999999")
    return int(answer["last_seq"])


async def traffic(control: Control, since: int) -> list[dict[str, Any]]:
    _, entries = await control.requests(since)
    return entries
