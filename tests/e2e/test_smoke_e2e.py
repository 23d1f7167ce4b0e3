from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.stack import stack

ADDRESS = {"first_name": "Erika", "last_name": "Mustermann", "street": "Hauptstr. 5", "zip": "10115",
           "city": "Berlin", "country_code": "DE", "email": "erika@example.org"}  # fmt: skip


@pytest.mark.parametrize("kind", ["woocommerce", "shopware", "shopify"])
async def test_orders_shipments_and_stock_flow_end_to_end(kind: str, tmp_path: Path, pg_dsn: str) -> None:
    async with stack(tmp_path, pg_dsn, [kind]) as s:
        shop = s.shops[f"{kind}-main"]
        for sku in ("TSHIRT-M", "MUG"):
            await s.control(
                shop,
                "POST",
                "products",
                {"sku": sku, "name": sku.title(), "price": "19.90", "weight_kg": 0.3},
            )
        order = await s.control(
            shop, "POST", "orders",
            {"lines": [{"sku": "TSHIRT-M", "qty": 2, "price": "19.90"}], "paid": True,
             "shipping_method": "Standard", "address": ADDRESS},
        )  # fmt: skip
        assert await s.settle(2), "passes should succeed"
        outbounds = await s.control(s.ffn, "GET", "outbounds")
        items = (
            outbounds if isinstance(outbounds, list) else outbounds.get("outbounds", outbounds.get("items"))
        )
        assert len(items) == 1
        outbound = items[0]
        assert outbound["merchantOutboundNumber"].endswith(str(order["number"]))
