"""Issue acceptance: a world of 200+ orders through Shopify and FFN sandboxes on a real Postgres."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from daemon.engine.reports import dead_letters, retry
from tests.e2e.stack import PLUS, stack
from tests.e2e.world import by_number, new_order, outbounds, ref, seed_catalogue


@pytest.mark.timeout(300)
@pytest.mark.parametrize("kind", ["shopify", "shopware", "woocommerce"])
async def test_a_world_of_orders_becomes_exactly_the_right_outbounds(
    kind: str, tmp_path: Path, pg_dsn: str
) -> None:
    rng = random.Random(7)
    async with stack(tmp_path, pg_dsn, [kind], shipping_default=None, shop_knobs=PLUS) as s:
        shop = s.shops[f"{kind}-main"]
        prefix = f"{kind[:2].upper()}-"
        await seed_catalogue(s, shop)
        normal = [await new_order(s, shop, rng) for _ in range(160)]
        unpaid = [await new_order(s, shop, rng, paid=False) for _ in range(10)]
        digital = [
            await new_order(
                s,
                shop,
                rng,
                lines=[],
                digital_lines=[{"sku": "EBOOK", "name": "E-book", "qty": 1, "price": "5"}],
            )
            for _ in range(10)
        ]
        no_sku = [
            await new_order(s, shop, rng, lines=[{"sku": None, "name": "Engraving", "qty": 1, "price": "5"}])
            for _ in range(10)
        ]
        teleport = [await new_order(s, shop, rng, shipping_method="Teleport") for _ in range(10)]
        cancelled_early = normal[:5]
        for order in cancelled_early:  # before the first sync: never exported
            await s.control(shop, "POST", f"orders/{ref(order)}/cancel", {})
        assert await s.settle(2) is False  # parked records make a pass "not all succeeded"

        numbers = by_number(await outbounds(s))
        eligible = normal[5:]
        assert set(numbers) == {f"{prefix}{o['number']}" for o in eligible}

        # Edits and cancels after export: before the fulfiller locks it, and after.
        edit_ok, edit_late, cancel_ok, cancel_late = (
            eligible[:5],
            eligible[5:10],
            eligible[10:15],
            eligible[15:20],
        )
        for order in edit_late + cancel_late:
            outbound_id = numbers[f"{prefix}{order['number']}"]["outboundId"]
            await s.control(s.ffn, "POST", f"outbounds/{outbound_id}/status", {"status": "Locked"})
        for order in edit_ok + edit_late:
            await s.control(shop, "PATCH", f"orders/{ref(order)}", {"lines": [{"sku": "POSTER", "qty": 4}]})
        for order in cancel_ok + cancel_late:
            await s.control(shop, "POST", f"orders/{ref(order)}/cancel", {})
        await s.settle(2)

        numbers = by_number(await outbounds(s))
        assert len(numbers) == len(eligible)  # no outbound was created twice
        for order in edit_ok:
            items = numbers[f"{prefix}{order['number']}"]["items"]
            assert [(i["merchantSku"], i["quantity"]) for i in items] == [("POSTER", 4)]
        for order in cancel_ok:
            assert numbers[f"{prefix}{order['number']}"]["status"] == "Canceled"
        for order in cancel_late + edit_late:
            assert numbers[f"{prefix}{order['number']}"]["status"] == "Locked"

        letters = {d.label: d for d in await dead_letters(s.db.pool)}
        for order in edit_late + cancel_late:
            letter = letters[str(order["number"])]
            assert (letter.reason_code == "manual_action" and "by hand" in (letter.last_error or "")) or (
                "stop the shipment" in (letter.last_error or "")
            )
        for order in no_sku:
            assert letters[str(order["number"])].reason_code == "missing_sku"
        for order in teleport:
            assert letters[str(order["number"])].reason_code == "unmapped_shipping_method"
            assert "'Teleport'" in (letters[str(order["number"])].last_error or "")
        skipped = await s.db.pool.fetch("SELECT label, last_error FROM snapshot WHERE state = 'skipped'")
        reasons = {r["label"]: r["last_error"] for r in skipped}
        for order in unpaid:
            assert "payment pending" in reasons[str(order["number"])]
        for order in digital:
            assert "no lines the warehouse ships" in reasons[str(order["number"])]
        for order in cancelled_early:
            assert "cancelled" in reasons[str(order["number"])]

        # Nothing changed: a whole pass makes zero write calls to either API.
        await s.mark()
        await s.once()
        assert await s.writes_since_mark(s.ffn) == []
        assert await s.writes_since_mark(shop) == []

        # The operator fixes the data (SKU in the shop, shipping mapping in the config) and retries.
        for order in no_sku:
            await s.control(shop, "PATCH", f"orders/{ref(order)}", {"lines": [{"sku": "MUG", "qty": 1}]})
        await s.reconfigure(
            shipping_default=None,
            shipping_map={"Standard": "FULF0A0001", "Express": "FULF0A0002", "Teleport": "FULF0A0003"},
        )
        assert await retry(s.db.pool, merchant="acme", key=None, now=s.clock_now()) >= 10
        await s.settle(2)
        numbers = by_number(await outbounds(s))
        letters = {d.label: (d.reason_code, d.last_error) for d in await dead_letters(s.db.pool)}
        for order in no_sku + teleport:
            assert f"{prefix}{order['number']}" in numbers, letters.get(str(order["number"]))
        assert numbers[f"{prefix}{teleport[0]['number']}"]["shippingMethodId"] == "FULF0A0003"
        remaining = {d.reason_code for d in await dead_letters(s.db.pool)}
        assert remaining == {"manual_action"}
