from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from daemon.engine.codec import content_hash, from_payload, to_payload
from daemon.model import Address, OrderLine, PaymentState, Shipment, ShipmentLine, ShopOrder, Tracking


def _order() -> ShopOrder:
    return ShopOrder(
        order_id="1001",
        number="#1001",
        created_at=datetime(2026, 3, 1, 12, tzinfo=UTC),
        updated_at=datetime(2026, 3, 1, 12, 5, tzinfo=UTC),
        currency="EUR",
        total=Decimal("19.90"),
        payment_state=PaymentState.PAID,
        tags=("vip",),
        shipping_address=Address(last_name="Müller", street="Hauptstraße 1", city="Köln", country_code="DE"),
        shipping_methods=("Standard",),
        lines=(OrderLine(line_id="l1", sku="A-1", name="Ä", quantity=2, unit_price=Decimal("9.95")),),
    )


def test_round_trip_restores_an_equal_record() -> None:
    order = _order()
    assert from_payload(ShopOrder, to_payload(order)) == order
    shipment = Shipment(
        "n1", "MERC02X", "SH-1", (ShipmentLine(Decimal("1.5"), jfsku="J"),), (Tracking("T1"),)
    )
    assert from_payload(Shipment, to_payload(shipment)) == shipment


def test_hash_ignores_a_bumped_modified_date_but_not_content() -> None:
    order = _order()
    touched = replace(order, updated_at=order.updated_at + timedelta(hours=1))
    edited = replace(order, lines=(replace(order.lines[0], quantity=3),))
    assert content_hash(to_payload(order)) == content_hash(to_payload(touched))
    assert content_hash(to_payload(order)) != content_hash(to_payload(edited))
