"""Shipments and stock, FFN → shop, end to end on the Shopify and FFN sandboxes."""

from __future__ import annotations

import random
from pathlib import Path

from tests.e2e.stack import stack
from tests.e2e.world import ADDRESS, new_order, outbounds, ref, seed_catalogue, shop_order


async def test_partial_then_final_shipment_become_two_fulfilments_and_a_replay_adds_none(
    tmp_path: Path, pg_dsn: str
) -> None:
    async with stack(tmp_path, pg_dsn, ["shopify"]) as s:
        shop = s.shops["shopify-main"]
        await seed_catalogue(s, shop)
        order = await new_order(
            s, shop, random.Random(1),
            lines=[{"sku": "MUG", "qty": 3, "price": "9"}, {"sku": "CAP", "qty": 1, "price": "15"}],
        )  # fmt: skip
        await s.settle(2)
        outbound_id = (await outbounds(s))[0]["outboundId"]
        await s.control(
            s.ffn, "POST", f"outbounds/{outbound_id}/ship",
            {"lines": [{"merchantSku": "MUG", "quantity": 2}], "packages": 2, "tracking": ["TRACK-A", "TRACK-B"]},
        )  # fmt: skip
        await s.settle(1)
        await s.control(s.ffn, "POST", f"outbounds/{outbound_id}/ship", {"packages": 1, "tracking": False})
        # Two rounds: the echo of our own fulfilment (the order is FULFILLED now) is read in the second, and an
        # order change makes the engine write its SKUs' stock again; only then must a replay add nothing.
        await s.settle(2)

        # Replay the whole shipping-notification feed from the start.
        await s.db.pool.execute("DELETE FROM cursors WHERE flow = 'shipments'")
        s.runtime.forget_cursors()  # as after an announced rewind
        await s.mark()
        await s.settle(1)
        assert await s.writes_since_mark(shop) == []

        fulfilments = (await shop_order(s, shop, ref(order)))["fulfillments"]
        assert len(fulfilments) == 2
        first, second = fulfilments
        assert sorted(t["number"] for t in first["trackingInfo"]) == ["TRACK-A", "TRACK-B"]
        assert first["trackingInfo"][0]["company"]  # carrier resolved from the FFN shipping method
        assert sum(q["quantity"] for q in first["lineItems"]) == 2
        assert second["trackingInfo"] == []
        assert sum(q["quantity"] for q in second["lineItems"]) == 2  # the last MUG and the CAP
        line_items = (await shop_order(s, shop, ref(order)))["lineItems"]
        assert all(li["unfulfilledQuantity"] == 0 for li in line_items)


async def test_stock_changes_reach_the_shop_in_one_cycle_minus_orders_not_yet_in_ffn(
    tmp_path: Path, pg_dsn: str
) -> None:
    async with stack(tmp_path, pg_dsn, ["shopify"], shipping_default=None) as s:
        shop = s.shops["shopify-main"]
        await seed_catalogue(s, shop)
        # Paid, but its shipping method is not mapped: it cannot reach FFN yet, yet its units are sold.
        await s.control(
            shop, "POST", "orders",
            {"lines": [{"sku": "MUG", "qty": 3, "price": "9"}], "paid": True, "shipping_method": "Pigeon",
             "address": ADDRESS},
        )  # fmt: skip
        await s.settle(1)  # products reach FFN, the order is parked
        for sku, level in (("MUG", 10), ("CAP", 4), ("POSTER", 0)):
            await s.control(s.ffn, "PUT", f"stock/{sku}", {"level": level})
        await s.settle(1)  # one cycle
        stock = await s.control(shop, "GET", "stock")
        assert (stock["MUG"], stock["CAP"], stock["POSTER"]) == (7, 4, 0)

        await s.mark()
        await s.settle(1)
        assert await s.writes_since_mark(shop) == []  # unchanged levels cause no writes

        await s.control(s.ffn, "PUT", "stock/CAP", {"level": 9})
        await s.mark()
        await s.settle(1)
        assert (await s.control(shop, "GET", "stock"))["CAP"] == 9
        assert len(await s.writes_since_mark(shop)) == 1  # one batched write
