"""Pure mapping on payloads shaped after the spec's schemas (checked against them first)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from adapters.shopware.mapping import (
    delivery_transition,
    is_sellable,
    map_order,
    map_product,
    merge_tracking_codes,
    primary_delivery,
    reached,
)
from daemon.errors import RecordError
from daemon.model import PaymentState
from tests.adapters.shopware import payloads as p
from tests.adapters.shopware.spec_check import spec_check


def with_nulls(payload: Any) -> Any:
    """What a real shop sends: unset fields as explicit nulls."""
    if isinstance(payload, dict):
        out = {k: with_nulls(v) for k, v in payload.items()}
        out.setdefault("updatedAt", None)
        return out
    if isinstance(payload, list):
        return [with_nulls(v) for v in payload]
    return payload


@pytest.mark.parametrize("version", ["6.6", "6.7"])
def test_fixtures_follow_the_spec_schemas(version: str) -> None:
    check = spec_check(version)
    assert check._schema_problems("Order", p.order()) == []
    assert check._schema_problems("Product", p.product(1)) == []


def test_order_maps_every_field() -> None:
    order = map_order(p.order())
    assert (order.order_id, order.number, order.currency) == (p.hexid(1), "10042", "EUR")
    assert order.total == Decimal("54.9") and order.shipping_fee == Decimal("4.9")
    assert order.payment_state is PaymentState.PAID and order.payment_method == "payment_prepayment"
    assert order.shop_status == "open" and not order.cancelled
    assert order.tags == ("vip",) and order.note == "Bitte klingeln" and order.email == "erika@example.com"
    assert order.shipping_methods == ("Method 1 (de)",)
    address = order.shipping_address
    assert address is not None
    assert (address.country_code, address.state, address.zip, address.city) == (
        "DE",
        "DE-BY",
        "80331",
        "München",
    )
    assert address.company == "ACME / Einkauf" and address.extra_line == "Hinterhaus"
    assert order.phone == "+49 89 1234"
    assert [(line.sku, line.quantity, line.unit_price) for line in order.lines] == [
        ("SKU-1", 2, Decimal("12.5")),
        ("SKU-2", 1, Decimal("12.5")),
    ]


def test_real_shop_nulls_are_tolerated_and_children_date_the_change() -> None:
    raw = with_nulls(p.order())
    raw["transactions"][0]["updatedAt"] = "2026-03-03T08:00:00.000+01:00"
    order = map_order(raw)
    assert order.created_at == datetime(2026, 3, 2, 9, tzinfo=UTC)
    # Payment changes do not bump order.updatedAt; the mapped change time still moves.
    assert order.updated_at == datetime(2026, 3, 3, 7, tzinfo=UTC)


def test_sku_comes_from_the_payload_snapshot_and_only_product_lines_count() -> None:
    raw = p.order(
        lineItems=[
            p.line(1, "OLD-NUMBER", 1, productId=None),
            p.line(2, None, 1, kind="promotion"),
            p.line(3, "EBOOK", 1, good=False),
        ]
    )
    lines = map_order(raw).lines
    assert [(line.sku, line.requires_shipping, line.variant_id) for line in lines] == [
        ("OLD-NUMBER", True, None),
        ("EBOOK", False, p.hexid(53)),
    ]


def test_primary_delivery_on_66_is_the_one_with_the_highest_shipping_cost() -> None:
    discount = p.delivery(2, -4.9)
    real = p.delivery(1, 4.9)
    raw = p.order(deliveries=[discount, real])
    assert primary_delivery(raw) is real
    assert map_order(raw).shipping_methods == ("Method 1 (de)", "Method 2 (de)")


def test_primary_delivery_on_67_is_named_by_the_order() -> None:
    cheap, dear = p.delivery(1, 0.0), p.delivery(2, 9.9)
    raw = p.order(deliveries=[dear, cheap], primaryOrderDeliveryId=cheap["id"])
    assert primary_delivery(raw) is cheap


def test_payment_state_comes_from_the_latest_transaction() -> None:
    old = p.transaction(1, "cancelled", "2026-03-02T09:00:00.000+00:00")
    new = p.transaction(2, "paid", "2026-03-02T09:05:00.000+00:00")
    assert map_order(p.order(transactions=[new, old])).payment_state is PaymentState.PAID
    named = p.order(transactions=[new, old], primaryOrderTransactionId=old["id"])
    assert map_order(named).payment_state is PaymentState.VOIDED
    assert map_order(p.order(transactions=[])).payment_state is PaymentState.UNKNOWN


def test_an_order_without_currency_association_is_a_clear_record_error() -> None:
    raw = p.order()
    del raw["currency"]
    with pytest.raises(RecordError, match=r"10042.*currency"):
        map_order(raw)


def test_product_maps_units_and_inherited_name() -> None:
    product = map_product(p.product(1), "EUR")
    assert (product.sku, product.name, product.external_id, product.stock_ref) == (
        "SKU-1",
        "Artikel 1",
        p.hexid(51),
        p.hexid(51),
    )
    assert product.net_price == Decimal("10.0") and product.currency == "EUR"
    assert product.weight_kg == Decimal("0.25")
    assert (product.length_m, product.width_m, product.height_m) == (
        Decimal("0.2"),
        Decimal("0.1"),
        Decimal("0.05"),
    )
    assert product.updated_at == datetime(2026, 3, 2, 10, tzinfo=UTC)


def test_variant_without_inherited_name_says_what_is_missing() -> None:
    raw = with_nulls(p.product(2, name=None, translated={"name": None}, parentId=p.hexid(60)))
    with pytest.raises(RecordError, match="sw-inheritance"):
        map_product(raw, "EUR")


def test_parents_and_digital_products_are_not_sellable() -> None:
    assert is_sellable(p.product(1))
    assert not is_sellable(p.product(1, childCount=3))
    assert not is_sellable(p.product(1, type="digital"))
    assert is_sellable(p.product(1, type="physical"))


def test_tracking_codes_merge_without_dropping_or_duplicating() -> None:
    assert merge_tracking_codes(["A", "M"], ["B", "A", None, " ", "B "]) == ["A", "M", "B"]


@pytest.mark.parametrize(
    ("state", "complete", "action"),
    [
        ("open", True, "ship"),
        ("open", False, "ship_partially"),
        ("shipped_partially", True, "ship"),
        ("shipped_partially", False, None),
        ("shipped", True, None),
        ("returned", True, None),
        ("cancelled", True, None),
    ],
)
def test_delivery_transition(state: str, complete: bool, action: str | None) -> None:
    assert delivery_transition(state, complete) == action


def test_reached() -> None:
    assert reached("shipped", True) and reached("shipped", False) and reached("shipped_partially", False)
    assert (
        not reached("shipped_partially", True)
        and not reached("cancelled", False)
        and not reached("open", False)
    )
