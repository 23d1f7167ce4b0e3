"""The fulfiller ships an order the merchant cancelled in the shop after FFN locked it: nothing is written
to the shop, the shipment waits for a human under ``manual_action`` (a money path: goods left, the order
may be refunded).

Real engine, real Postgres, the shop and FFN sandboxes on 127.0.0.1.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from daemon.engine.reports import dead_letters
from tests.e2e.stack import stack
from tests.e2e.world import new_order, outbounds, ref, seed_catalogue, shop_order


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", ["woocommerce", "shopware"])
async def test_a_shipment_of_an_order_cancelled_in_the_shop_is_parked_for_a_human(
    kind: str, tmp_path: Path, pg_dsn: str
) -> None:
    async with stack(tmp_path, pg_dsn, [kind]) as s:
        shop = s.shops[f"{kind}-main"]
        await seed_catalogue(s, shop)
        order = await new_order(s, shop, random.Random(7))
        await s.settle(2)
        outbound_id = (await outbounds(s))[0]["outboundId"]
        await s.control(s.ffn, "POST", f"outbounds/{outbound_id}/status", {"status": "Locked"})
        await s.control(shop, "POST", f"orders/{ref(order)}/cancel")
        await s.settle(2)  # FFN refuses the cancel of a locked outbound: the order waits for a human
        await s.control(
            s.ffn, "POST", f"outbounds/{outbound_id}/ship", {"packages": 1, "tracking": ["TRACK-CANCELLED"]}
        )
        await s.settle(2)

        letters = [d for d in await dead_letters(s.db.pool) if d.entity == "shipment"]
        assert [d.reason_code for d in letters] == ["manual_action"]
        assert str(order["number"]) in (letters[0].last_error or "")
        assert "cancelled" in (letters[0].last_error or "")
        written = await shop_order(s, shop, str(order["id"]))
        if kind == "woocommerce":
            assert written["tracking_items"] == [] and written["status"] == "cancelled"
        else:
            assert written["deliveries"][0]["trackingCodes"] == []
