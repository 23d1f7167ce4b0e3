"""Issue 15 (WooCommerce): refunds, failed orders and the trash reach FFN; units; the default gate.

Real engine, real Postgres, the WooCommerce and FFN sandboxes on 127.0.0.1; the channel signs with
OAuth 1.0a because the sandbox, like WooCommerce over plain HTTP, accepts nothing else.
"""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

import pytest

from daemon.engine.reports import dead_letters
from tests.e2e.stack import Stack, stack
from tests.e2e.world import by_number, new_order, outbounds, ref, seed_catalogue

KIND = "woocommerce"
PREFIX = "WO-"


async def _exported(s: Stack, order: dict[str, object]) -> dict[str, object]:
    return by_number(await outbounds(s))[f"{PREFIX}{order['number']}"]


@pytest.mark.timeout(120)
async def test_refunded_failed_and_trashed_after_export_are_cancelled_in_ffn(
    tmp_path: Path, pg_dsn: str
) -> None:
    rng = random.Random(3)
    async with stack(tmp_path, pg_dsn, [KIND]) as s:
        shop = s.shops[f"{KIND}-main"]
        await seed_catalogue(s, shop)
        refunded, failed, trashed, late = [await new_order(s, shop, rng) for _ in range(4)]
        await s.settle(2)
        assert {(await _exported(s, o))["status"] for o in (refunded, failed, trashed, late)} == {"Pending"}
        late_outbound = (await _exported(s, late))["outboundId"]
        await s.control(s.ffn, "POST", f"outbounds/{late_outbound}/status", {"status": "Locked"})

        for order in (refunded, late):  # refund every line: WooCommerce makes the order "refunded"
            lines = (await s.control(shop, "GET", f"orders/{ref(order)}"))["line_items"]
            body = {"lines": [{"sku": li["sku"], "qty": li["quantity"]} for li in lines], "restock": True}
            assert (await s.control(shop, "POST", f"orders/{ref(order)}/refund", body))[
                "status"
            ] == "refunded"
        await s.control(shop, "PATCH", f"orders/{ref(failed)}", {"status": "failed"})
        await s.control(shop, "DELETE", f"orders/{ref(trashed)}")
        await s.settle(2)

        for order in (refunded, failed, trashed):
            assert (await _exported(s, order))["status"] == "Canceled"
        assert (await _exported(s, late))["status"] == "Locked"
        letters = {d.label: d for d in await dead_letters(s.db.pool)}
        alert = letters[str(late["number"])]
        assert alert.reason_code == "manual_action"
        assert f"order {PREFIX}{late['number']}" in (alert.last_error or "")


@pytest.mark.timeout(120)
async def test_a_partial_refund_edits_the_outbound(tmp_path: Path, pg_dsn: str) -> None:
    async with stack(tmp_path, pg_dsn, [KIND]) as s:
        shop = s.shops[f"{KIND}-main"]
        await seed_catalogue(s, shop)
        order = await new_order(
            s,
            shop,
            random.Random(1),
            lines=[{"sku": "MUG", "qty": 3, "price": "9"}, {"sku": "CAP", "qty": 1}],
        )
        await s.settle(2)
        items = {i["merchantSku"]: Decimal(str(i["quantity"])) for i in (await _exported(s, order))["items"]}
        assert items == {"MUG": 3, "CAP": 1}

        # A refund is its own record: the order's line still says 3 mugs.
        await s.control(shop, "POST", f"orders/{ref(order)}/refund", {"lines": [{"sku": "MUG", "qty": 2}]})
        assert (await s.control(shop, "GET", f"orders/{ref(order)}"))["line_items"][0]["quantity"] == 3
        await s.settle(2)
        outbound = await _exported(s, order)
        assert outbound["status"] == "Pending"
        assert {i["merchantSku"]: Decimal(str(i["quantity"])) for i in outbound["items"]} == {
            "MUG": 1,
            "CAP": 1,
        }

        await s.control(shop, "POST", f"orders/{ref(order)}/refund", {"lines": [{"sku": "CAP", "qty": 1}]})
        await s.settle(2)
        outbound = await _exported(s, order)
        assert [(i["merchantSku"], Decimal(str(i["quantity"]))) for i in outbound["items"]] == [("MUG", 1)]


@pytest.mark.timeout(120)
async def test_a_grams_shop_sends_kilograms_and_metres(tmp_path: Path, pg_dsn: str) -> None:
    async with stack(tmp_path, pg_dsn, [KIND]) as s:
        shop = s.shops[f"{KIND}-main"]
        await s.control(shop, "PUT", "settings", {"weight_unit": "g", "dimension_unit": "mm"})
        await s.control(shop, "POST", "products", {"sku": "ANVIL", "name": "Anvil", "weight": "1250"})
        await s.settle(2)
        products = {p["merchantSku"]: p for p in await s.control(s.ffn, "GET", "products")}
        assert Decimal(str(products["ANVIL"]["weight"])) == Decimal("1.25")


@pytest.mark.timeout(120)
async def test_default_gate_exports_processing_only(tmp_path: Path, pg_dsn: str) -> None:
    """on-hold (bank transfer awaiting confirmation) and completed orders carry a payment date in
    WooCommerce but are not for the warehouse under the default config."""
    rng = random.Random(5)
    async with stack(tmp_path, pg_dsn, [KIND]) as s:
        shop = s.shops[f"{KIND}-main"]
        await seed_catalogue(s, shop)
        processing = await new_order(s, shop, rng)
        on_hold = await new_order(s, shop, rng, status="on-hold")
        completed = await new_order(s, shop, rng, status="completed")
        await s.settle(2)
        numbers = set(by_number(await outbounds(s)))
        assert numbers == {f"{PREFIX}{processing['number']}"}
        await s.control(shop, "PATCH", f"orders/{ref(on_hold)}", {"status": "processing"})
        await s.settle(2)
        assert set(by_number(await outbounds(s))) == {f"{PREFIX}{o['number']}" for o in (processing, on_hold)}
        assert f"{PREFIX}{completed['number']}" not in by_number(await outbounds(s))
