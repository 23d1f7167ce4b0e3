"""A fulfiller cancel with cancel_in_shop = false: ffn-sync notes it on the shop order, and that note
must not travel back to FFN as a shop edit (a PATCH of a cancelled outbound earns a 403 and a false
manual_action dead letter). Full and partial cancels both, with merchant notes whose line breaks and
blanks must survive our appended line unchanged (only the note normalisation keeps them equal; the
PATCH guard for finished outbounds is switched off here so it cannot hide a difference)."""

from __future__ import annotations

import random
from pathlib import Path

import orjson
import pytest

from daemon.engine.flows import orders
from tests.e2e.stack import PLUS, stack
from tests.e2e.world import by_number, new_order, outbounds, ref, seed_catalogue, shop_order

KINDS = ("shopify", "shopware", "woocommerce")
NOTES = (None, "ring twice ", "ring\r\ntwice", "\nback door\r\n")


@pytest.mark.timeout(180)
@pytest.mark.parametrize("fulfiller_status", ["Canceled", "PartiallyCanceled"])
async def test_a_fulfiller_cancel_noted_in_every_shop_sends_nothing_back_to_ffn(
    tmp_path: Path, pg_dsn: str, fulfiller_status: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(orders, "FINAL_OUTBOUND_STATUSES", frozenset(), raising=False)
    rng = random.Random(5)
    async with stack(tmp_path, pg_dsn, KINDS, shop_knobs=PLUS) as s:
        for shop in s.shops.values():
            await seed_catalogue(s, shop)
        await s.settle(1)
        placed = {
            name: [await new_order(s, shop, rng, **({"note": n} if n else {})) for n in NOTES]
            for name, shop in s.shops.items()
        }
        assert await s.settle(2)
        numbers = by_number(await outbounds(s))
        assert len(numbers) == len(NOTES) * len(KINDS)

        await s.mark()
        for outbound in numbers.values():
            await s.control(
                s.ffn, "POST", f"outbounds/{outbound['outboundId']}/status",
                {"status": fulfiller_status, "reason": "damaged in stock"},
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
