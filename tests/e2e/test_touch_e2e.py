"""An order opened and saved in wp-admin (modified date bumped, content unchanged) costs FFN nothing."""

from __future__ import annotations

import random
from pathlib import Path

from tests.e2e.stack import stack
from tests.e2e.world import new_order, outbounds, ref, seed_catalogue


async def test_touched_woocommerce_order_causes_zero_ffn_writes(tmp_path: Path, pg_dsn: str) -> None:
    async with stack(tmp_path, pg_dsn, ["woocommerce"]) as s:
        shop = s.shops["woocommerce-main"]
        await seed_catalogue(s, shop)
        order = await new_order(s, shop, random.Random(2))
        await s.settle(2)
        assert len(await outbounds(s)) == 1

        await s.control(shop, "POST", f"orders/{ref(order)}/touch", {})
        await s.mark()
        await s.settle(2)
        assert await s.writes_since_mark(s.ffn) == []
        reads = [c for c in await s.requests(shop, s.marks[shop.url]) if "/orders" in c["path"]]
        touched = [c for c in reads if f'"id":{order["id"]},' in c["response_body"]]
        assert touched, "the touched order was read again (and found unchanged)"
