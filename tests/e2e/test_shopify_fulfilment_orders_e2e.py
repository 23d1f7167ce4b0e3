"""Shopify's fulfilment-order truth through the whole daemon: holds, test orders, other locations."""

from __future__ import annotations

import random
from pathlib import Path

from tests.e2e.stack import stack
from tests.e2e.world import new_order, outbounds, ref, seed_catalogue


async def test_held_is_not_exported_until_released_test_orders_and_other_locations_never(
    tmp_path: Path, pg_dsn: str
) -> None:
    async with stack(tmp_path, pg_dsn, ["shopify"]) as s:
        shop = s.shops["shopify-main"]
        await seed_catalogue(s, shop)
        rng = random.Random(7)
        store = await s.control(shop, "POST", "locations", {"name": "Shop floor"})
        held = await new_order(s, shop, rng, hold="INCORRECT_ADDRESS")
        test = await new_order(s, shop, rng, test=True)
        split = await new_order(
            s, shop, rng,
            lines=[{"sku": "MUG", "qty": 2, "price": "9"}, {"sku": "CAP", "qty": 1, "location": store["id"]}],
        )  # fmt: skip
        await s.settle(2)
        exported = {o["merchantOutboundNumber"]: o for o in await outbounds(s)}
        assert set(exported) == {f"SH-{split['number']}"}
        assert [(i["merchantSku"], i["quantity"]) for i in exported[f"SH-{split['number']}"]["items"]] == [
            ("MUG", 2)
        ]
        skipped = await s.db.pool.fetch(
            "SELECT external_id, last_error FROM snapshot WHERE entity = 'order' AND state = 'skipped'"
        )
        reasons = {row["external_id"]: row["last_error"] for row in skipped}
        assert "INCORRECT_ADDRESS" in reasons[held["id"]]
        assert "test order" in reasons[test["id"]]

        await s.control(shop, "POST", f"orders/{ref(held)}/release")
        await s.settle(1)  # one cycle after the release
        numbers = {o["merchantOutboundNumber"] for o in await outbounds(s)}
        assert numbers == {f"SH-{split['number']}", f"SH-{held['number']}"}
