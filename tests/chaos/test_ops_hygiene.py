"""Bad data at the mapping boundary: country names, made-up countries, non-positive quantities,
dangerous tracking URLs and oversized carrier names."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from daemon.engine.hygiene import cut
from daemon.engine.matching import match_shipment
from daemon.engine.outbound_builder import OrderRefused, build_outbound
from daemon.engine.settings import ChannelSettings
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
        await s.settle(2)

        outbounds = await s.control(s.ffn, "GET", "outbounds")
        assert sorted(o["shippingAddress"]["country"] for o in outbounds) == ["AT", "DE"]
        parked = await s.db.pool.fetch(
            "SELECT label, reason_code, last_error FROM snapshot WHERE state = 'failed' ORDER BY label"
        )
        reasons = {row["reason_code"]: row["last_error"] for row in parked}
        assert set(reasons) == {"unknown_country"}, parked
        assert "'Atlantis'" in reasons["unknown_country"]


def test_a_line_with_a_negative_quantity_refuses_the_order_and_a_zero_line_is_left_out() -> None:
    now = datetime.now(UTC)
    order = ShopOrder(
        order_id="7",
        number="1007",
        created_at=now,
        updated_at=now,
        currency="EUR",
        total=Decimal(9),
        payment_state=PaymentState.PAID,
        lines=(OrderLine("L1", "MUG", "Mug", 1), OrderLine("L2", "CAP", "Cap", 0)),
        shipping_address=Address(last_name="X", street="S", city="C", country_code="de"),
        shipping_methods=("Standard",),
    )
    channel = ChannelSettings(name="shop", kind="woocommerce", shipping_map={"Standard": "FULF0A0001"})
    jfskus = {"MUG": "JFMUG", "CAP": "JFCAP"}
    built = build_outbound(order, channel, ffn_merchant_id="MERC", warehouse_id="W" * 14, jfsku_by_sku=jfskus)
    assert [i.merchant_sku for i in built.items] == ["MUG"]  # 0: removed or refunded in the shop
    assert built.shipping_address.country_code == "DE"
    negative = replace(order, lines=(OrderLine("L1", "MUG", "Mug", 1), OrderLine("L2", "CAP", "Cap", -2)))
    with pytest.raises(OrderRefused) as refused:
        build_outbound(negative, channel, ffn_merchant_id="MERC", warehouse_id="W" * 14, jfsku_by_sku=jfskus)
    assert refused.value.reason_code == "invalid_quantity"
    assert "quantity -2" in refused.value.message and "'CAP'" in refused.value.message


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
