"""A Shopify order of 120 lines through the whole daemon: its fulfillment order's lines come 50 a page (paged
read) or all in the bulk file (bulk read); either way FFN gets one outbound with every line, never a part."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandboxes.shopify import SANDBOX_KEY
from tests.e2e.stack import stack
from tests.e2e.world import ADDRESS, by_number, outbounds

LINES = 120


@pytest.mark.parametrize("read", ["paged", "bulk"])
async def test_an_order_of_120_lines_is_exported_whole(tmp_path: Path, pg_dsn: str, read: str) -> None:
    # The first import: bulk_read_min_orders 1 reads it through a bulk operation, 100,000 page by page.
    fields = {"bulk_read_min_orders": 1 if read == "bulk" else 100_000}
    knobs = {"shopify": {"bulk_delay_s": 0.2}}
    async with stack(tmp_path, pg_dsn, ["shopify"], shop_knobs=knobs, channel_fields=fields) as s:
        shop = s.shops["shopify-main"]
        skus = [f"PART-{i:03d}" for i in range(LINES)]
        for sku in skus:
            await s.control(
                shop, "POST", "products", {"sku": sku, "name": sku, "price": "1.00", "weight_kg": 0.1}
            )
        lines = [{"sku": sku, "qty": 1 + i % 3, "price": "1.00"} for i, sku in enumerate(skus)]
        big = await s.control(
            shop,
            "POST",
            "orders",
            {"lines": lines, "paid": True, "shipping_method": "Standard", "address": ADDRESS},
        )
        await s.settle(3)  # (a loaded machine: 120 products reach FFN before the order can go)
        exported = by_number(await outbounds(s))  # fails on a duplicate
        assert set(exported) == {f"SH-{big['number']}"}
        items = [(i["merchantSku"], i["quantity"]) for i in exported[f"SH-{big['number']}"]["items"]]
        assert sorted(items) == sorted((sku, 1 + i % 3) for i, sku in enumerate(skus))
        bulk = shop.app[SANDBOX_KEY].bulk
        requests = [r for r in await s.requests(shop) if r["path"].endswith("/graphql.json")]
        line_pages = [r for r in requests if "FulfillmentOrderLines" in str(r.get("request_body"))]
        if read == "bulk":  # (the stock write's re-read of new orders may read it page by page as well)
            assert len(bulk.operations) == 1 and bulk.operations[1].downloads == 1
        else:
            assert bulk.operations == {} and line_pages
