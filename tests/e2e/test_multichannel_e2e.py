"""One merchant, several shops: orders from each reach FFN with their prefix, tracking goes back to the
shop the order came from, and stock reaches every shop."""

from __future__ import annotations

import random
from pathlib import Path

import orjson
import pytest

from tests.e2e.stack import PLUS, stack
from tests.e2e.world import by_number, new_order, outbounds, ref, seed_catalogue, shop_order


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    "kinds",
    [("shopify", "shopware"), ("shopify", "shopware", "woocommerce")],
    ids=["two-shops", "three-shops"],
)
async def test_one_merchant_with_several_shops(kinds: tuple[str, ...], tmp_path: Path, pg_dsn: str) -> None:
    rng = random.Random(9)
    async with stack(tmp_path, pg_dsn, kinds, shop_knobs=PLUS) as s:
        orders: dict[str, list[dict[str, object]]] = {}
        for shop in s.shops.values():
            await seed_catalogue(s, shop)
        await s.settle(1)  # the product master's products reach FFN first
        for name, shop in s.shops.items():
            orders[name] = [await new_order(s, shop, rng) for _ in range(5)]
        await s.settle(2)

        numbers = by_number(await outbounds(s))
        for name, placed in orders.items():
            prefix = f"{name[:2].upper()}-"
            for order in placed:
                assert f"{prefix}{order['number']}" in numbers, (name, order)
        assert len(numbers) == 5 * len(kinds)

        # Ship one order of every shop with its own tracking number.
        for name, placed in orders.items():
            number = f"{name[:2].upper()}-{placed[0]['number']}"
            await s.control(
                s.ffn, "POST", f"outbounds/{numbers[number]['outboundId']}/ship",
                {"packages": 1, "tracking": [f"TRK-{name}"]},
            )  # fmt: skip
        await s.control(s.ffn, "PUT", "stock/MUG", {"level": 50})
        await s.settle(2)

        for name, shop in s.shops.items():
            shipped = orjson.dumps(await shop_order(s, shop, ref(orders[name][0]))).decode()
            assert f"TRK-{name}" in shipped
            others = [f"TRK-{n}" for n in s.shops if n != name]
            assert not any(t in shipped for t in others)
            # Stock: FFN's level, minus nothing pending (every order is in FFN, where FFN reserves it).
            stock = await s.control(shop, "GET", "stock")
            assert stock["MUG"] == 50, (name, stock)
