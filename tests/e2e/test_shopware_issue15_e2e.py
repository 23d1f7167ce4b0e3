"""Issue 15 (Shopware): download lines per version and parent changes, end to end."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.e2e.stack import stack
from tests.e2e.world import ADDRESS, by_number, outbounds

KIND = "shopware"


@pytest.mark.timeout(120)
@pytest.mark.parametrize("version", ["6.6", "6.7"])
async def test_an_order_with_a_download_exports_its_physical_lines_only(
    version: str, tmp_path: Path, pg_dsn: str
) -> None:
    async with stack(tmp_path, pg_dsn, [KIND], shop_knobs={KIND: {"version": version}}) as s:
        shop = s.shops[f"{KIND}-main"]
        await s.control(shop, "POST", "products", {"sku": "BOOK", "name": "Book", "price": "20", "stock": 5})
        await s.control(
            shop, "POST", "products", {"sku": "EBOOK", "name": "E-Book", "price": "9", "digital": True}
        )
        created = await s.control(
            shop,
            "POST",
            "orders",
            {
                "lines": [{"sku": "BOOK", "qty": 2, "price": "20"}],
                "digital_lines": [{"sku": "EBOOK", "qty": 1, "price": "9"}],
                "shipping_method": "Standard",
                "address": ADDRESS,
            },
        )
        assert await s.settle(2)  # nothing parked: the download neither blocks nor travels
        outbound = by_number(await outbounds(s))[f"SH-{created['number']}"]
        assert [(i["merchantSku"], Decimal(str(i["quantity"]))) for i in outbound["items"]] == [("BOOK", 2)]
        products = {p["merchantSku"] for p in await s.control(s.ffn, "GET", "products")}
        assert products == {"BOOK"}  # the download is no warehouse product either


@pytest.mark.timeout(120)
async def test_a_parent_change_reaches_ffn_for_its_variants(tmp_path: Path, pg_dsn: str) -> None:
    async with stack(tmp_path, pg_dsn, [KIND]) as s:
        shop = s.shops[f"{KIND}-main"]
        await s.control(
            shop, "POST", "products", {"sku": "SHIRT", "name": "Shirt", "price": "25", "weight_kg": 0.3}
        )
        for sku in ("SHIRT-S", "SHIRT-M"):
            await s.control(shop, "POST", "products", {"sku": sku, "parent_sku": "SHIRT"})
        await s.settle(2)
        names = {p["merchantSku"]: p["name"] for p in await s.control(s.ffn, "GET", "products")}
        assert names == {"SHIRT-S": "Shirt", "SHIRT-M": "Shirt"}
        await s.control(shop, "PATCH", "products/SHIRT", {"name": "Organic Shirt", "weight_kg": 0.25})
        await s.settle(2)
        products = {p["merchantSku"]: p for p in await s.control(s.ffn, "GET", "products")}
        assert {sku: p["name"] for sku, p in products.items()} == {
            "SHIRT-S": "Organic Shirt",
            "SHIRT-M": "Organic Shirt",
        }
        assert {Decimal(str(p["weight"])) for p in products.values()} == {Decimal("0.25")}
