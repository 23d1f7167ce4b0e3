"""A fulfiller cancel with cancel_in_shop = false: ffn-sync notes it on the shop order, and that note
must not travel back to FFN as a shop edit (a PATCH of a cancelled outbound earns a 403 and a false
manual_action dead letter)."""

from __future__ import annotations

import random
from pathlib import Path

import orjson
import pytest

from tests.e2e.stack import PLUS, stack
from tests.e2e.world import by_number, new_order, outbounds, ref, seed_catalogue, shop_order

KINDS = ("shopify", "shopware", "woocommerce")


@pytest.mark.timeout(180)
async def test_a_fulfiller_cancel_noted_in_every_shop_sends_nothing_back_to_ffn(
    tmp_path: Path, pg_dsn: str
) -> None:
    rng = random.Random(5)
    async with stack(tmp_path, pg_dsn, KINDS, shop_knobs=PLUS) as s:
        for shop in s.shops.values():
            await seed_catalogue(s, shop)
        await s.settle(1)
        placed = {name: [await new_order(s, shop, rng) for _ in range(3)] for name, shop in s.shops.items()}
        assert await s.settle(2)
        numbers = by_number(await outbounds(s))
        assert len(numbers) == 3 * len(KINDS)

        await s.mark()
        for outbound in numbers.values():
            await s.control(
                s.ffn, "POST", f"outbounds/{outbound['outboundId']}/status",
                {"status": "Canceled", "reason": "damaged in stock"},
            )  # fmt: skip
        # The status flow notes the cancel in the shops; the orders flow then reads the changed orders.
        assert await s.settle(3), "a flow failed or a record was parked"

        assert await s.writes_since_mark(s.ffn) == []
        failed = await s.db.pool.fetch(
            "SELECT external_id, reason_code, last_error FROM snapshot WHERE state = 'failed'"
        )
        assert failed == []
        for name, shop in s.shops.items():
            for order in placed[name]:
                seen = orjson.dumps(await shop_order(s, shop, ref(order))).decode()
                assert "damaged in stock" in seen, (name, order["number"])  # the shop was told
