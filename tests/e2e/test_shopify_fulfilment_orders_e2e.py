"""Shopify through the whole daemon: fulfilment-order truth (holds, test orders, other locations) and
compare-and-swap stock writes."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import orjson

from tests.e2e.stack import stack
from tests.e2e.test_stock_reservations_e2e import MUG_X2, run_flows, shop_mug, start_with_mugs
from tests.e2e.world import ADDRESS, new_order, outbounds, ref, seed_catalogue


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


async def test_a_checkout_between_our_read_and_our_write_is_not_overwritten(
    tmp_path: Path, pg_dsn: str
) -> None:
    async with stack(tmp_path, pg_dsn, ["shopify"]) as s:
        shop = s.shops["shopify-main"]
        await start_with_mugs(s, shop, 10)
        channel = s.runtime.contexts[0].channels["shopify-main"]
        mutate = channel.transport.mutate
        checkouts = 0

        async def checkout_before_the_first_write(op: Any, variables: Any = None, **kw: Any) -> Any:
            nonlocal checkouts
            if op.name == "SetQuantities" and not checkouts:
                checkouts += 1  # the engine has computed 12; a customer buys 2 before the write lands
                await s.control(
                    shop, "POST", "orders",
                    {"lines": MUG_X2, "paid": True, "shipping_method": "Standard", "address": ADDRESS},
                )  # fmt: skip
            return await mutate(op, variables, **kw)

        channel.transport.mutate = checkout_before_the_first_write
        await s.control(s.ffn, "PUT", "stock/MUG", {"level": 12})
        assert await run_flows(s, "stock")

        assert await shop_mug(s, shop) == 10  # 12 in FFN − the 2 just sold, not 12
        writes = [
            orjson.loads(c["request_body"])
            for c in await s.requests(shop)
            if b"SetQuantities" in c["request_body"].encode()
        ]
        quantities = [w["variables"]["input"]["quantities"][0] for w in writes[-2:]]
        # Refused over the moved quantity, then written over the one read again, the new order counted.
        assert [(q["quantity"], q["changeFromQuantity"]) for q in quantities] == [(12, 10), (10, 8)]
