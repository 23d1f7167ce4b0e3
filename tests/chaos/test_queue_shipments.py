"""Two shipping notifications of one order applied in one cycle, on every shop: the writes of one
order are serialised, so read-merge-write tracking lists and ledgers lose nothing and nothing is
fulfilled twice. Fifty orders per shop, so fifty repetitions of the race per run."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.stack import PLUS, Stack, stack
from tests.e2e.world import by_number, new_order, outbounds, ref, seed_catalogue, shop_order

ORDERS_PER_SHOP = 50
# The notes fallback keeps WooCommerce's tracking list in order meta as well: two ledgers at risk.
KNOBS = {**PLUS, "woocommerce": {"shipment_tracking": False}}


def _meta(order: dict[str, Any], key: str) -> Any:
    return next((m["value"] for m in order.get("meta_data") or [] if m.get("key") == key), None)


def _tracking_in_shop(kind: str, order: dict[str, Any]) -> list[str]:
    """Every tracking number the shop shows for the order, repeats included."""
    if kind == "shopify":
        return [t["number"] for f in order["fulfillments"] for t in f["trackingInfo"]]
    if kind == "shopware":
        return [code for d in order["deliveries"] for code in d.get("trackingCodes") or []]
    return [str(t["number"]) for t in _meta(order, "_ffn_tracking") or []]


async def _ship_twice(s: Stack, outbound_id: str, number: str) -> None:
    for sku, suffix in (("MUG", "A"), ("CAP", "B")):
        await s.control(
            s.ffn, "POST", f"outbounds/{outbound_id}/ship",
            {"lines": [{"merchantSku": sku, "quantity": 1}], "packages": 1, "tracking": [f"{number}-{suffix}"]},
        )  # fmt: skip


@pytest.mark.timeout(300)
async def test_two_notifications_of_one_order_in_one_cycle_keep_every_tracking_number(
    tmp_path: Path, pg_dsn: str
) -> None:
    rng = random.Random(13)
    lines = [{"sku": "MUG", "qty": 1, "price": "9"}, {"sku": "CAP", "qty": 1, "price": "15"}]
    async with stack(tmp_path, pg_dsn, ("shopify", "shopware", "woocommerce"), shop_knobs=KNOBS) as s:
        for shop in s.shops.values():
            await seed_catalogue(s, shop)
        await s.settle(1)
        placed = {
            name: [await new_order(s, shop, rng, lines=lines) for _ in range(ORDERS_PER_SHOP)]
            for name, shop in s.shops.items()
        }
        for _ in range(6):
            if len(await outbounds(s)) == ORDERS_PER_SHOP * len(s.shops):
                break
            await s.settle(1)
        numbers = by_number(await outbounds(s))
        assert len(numbers) == ORDERS_PER_SHOP * len(s.shops)
        for number, outbound in numbers.items():
            await _ship_twice(s, outbound["outboundId"], number)

        assert await s.settle(1)  # one cycle takes both notifications of every order

        for name, shop in s.shops.items():
            for order in placed[name]:
                number = f"{name[:2].upper()}-{order['number']}"
                seen = await shop_order(s, shop, ref(order))
                tracking = _tracking_in_shop(shop.kind, seen)
                assert sorted(tracking) == [f"{number}-A", f"{number}-B"], (name, number, tracking)
                if shop.kind == "shopify":
                    assert len(seen["fulfillments"]) == 2, (number, seen["fulfillments"])
                if shop.kind == "woocommerce":
                    assert len(set(_meta(seen, "_ffn_applied_shipments") or [])) == 2, (number, seen)
                    assert seen["status"] == "completed", number
                if shop.kind == "shopware":
                    states = [d["stateMachineState"]["technicalName"] for d in seen["deliveries"]]
                    assert states == ["shipped"], (number, states)
