"""Bad data at the mapping boundary: country names, made-up countries, non-positive quantities,
dangerous tracking URLs and oversized carrier names."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from daemon.engine.hygiene import cut
from daemon.engine.matching import match_shipment
from daemon.model import Address, OrderLine, PaymentState, Shipment, ShipmentLine, ShopOrder, Tracking
from tests.e2e.stack import stack
from tests.e2e.world import ADDRESS, seed_catalogue


@pytest.mark.timeout(120)
async def test_countries_are_iso_codes_and_bad_orders_are_parked_with_the_reason(
    tmp_path: Path, pg_dsn: str
) -> None:
    async with stack(tmp_path, pg_dsn, ["woocommerce"]) as s:
        shop = s.shops["woocommerce-main"]
        await seed_catalogue(s, shop)
        await s.settle(1)
        line = {"sku": "MUG", "qty": 1, "price": "9"}

        async def order(country: str, lines: list[dict[str, object]]) -> None:
            body = {"lines": lines, "paid": True, "shipping_method": "Standard",
                    "address": {**ADDRESS, "country_code": country}}  # fmt: skip
            await s.control(shop, "POST", "orders", body)

        await order("Germany", [line])
        await order("AUT", [line])
        await order("Atlantis", [line])
        await order("DE", [line, {"sku": "CAP", "qty": 0, "price": "5"}])
        await s.settle(2)

        outbounds = await s.control(s.ffn, "GET", "outbounds")
        assert sorted(o["shippingAddress"]["country"] for o in outbounds) == ["AT", "DE"]
        parked = await s.db.pool.fetch(
            "SELECT label, reason_code, last_error FROM snapshot WHERE state = 'failed' ORDER BY label"
        )
        reasons = {row["reason_code"]: row["last_error"] for row in parked}
        assert set(reasons) == {"unknown_country", "invalid_quantity"}, parked
        assert "'Atlantis'" in reasons["unknown_country"]
        assert "quantity 0" in reasons["invalid_quantity"] and "CAP" in reasons["invalid_quantity"]


def test_tracking_urls_are_http_only_and_carrier_names_are_cut_for_shops() -> None:
    now = datetime.now(UTC)
    order = ShopOrder(
        order_id="1",
        number="1001",
        created_at=now,
        updated_at=now,
        currency="EUR",
        total=Decimal(9),
        payment_state=PaymentState.PAID,
        lines=(OrderLine("L1", "MUG", "Mug", 1),),
        shipping_address=Address(last_name="X", street="S", city="C", country_code="DE"),
    )
    shipment = Shipment(
        shipment_id="S1",
        outbound_id="O1",
        merchant_outbound_number="SH-1001",
        lines=(ShipmentLine(Decimal(1), jfsku="J1"),),
        trackings=(
            Tracking("T1", "C" * 500, "javascript:alert(document.cookie)"),
            Tracking("T2", " DHL ", "https://track.example/T2"),
            Tracking("T3", "UPS", "data:text/html,<script>x</script>"),
            Tracking("T4", "GLS", "ftp://track.example/T4"),
        ),
    )
    matched = match_shipment(shipment, order, {"J1": "MUG"})
    assert [(t.number, t.url) for t in matched.trackings] == [
        ("T1", None),
        ("T2", "https://track.example/T2"),
        ("T3", None),
        ("T4", None),
    ]
    assert matched.trackings[0].carrier == "C" * 255
    assert matched.trackings[1].carrier == "DHL"
    assert cut("  é" * 300, 10) == "é  é  é  é"
