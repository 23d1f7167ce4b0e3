"""Pure mapping, on the REST API docs' own payloads."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from adapters.woocommerce import mapping
from daemon.errors import RecordError
from daemon.model import Address, PaymentState, Window
from tests.adapters.woocommerce.conftest import doc_example


def test_order_from_the_docs_maps_from_gmt_fields() -> None:
    order = mapping.order_from_wc(doc_example("orders__retrieve-an-order.response"), virtual_units={93})
    assert order.order_id == "727" and order.number == "727"
    # date_created is 16:28:02 shop time; the GMT twin is three hours later.
    assert order.created_at == datetime(2017, 3, 22, 19, 28, 2, tzinfo=UTC)
    assert order.updated_at == datetime(2017, 3, 22, 19, 28, 8, tzinfo=UTC)
    assert order.payment_state is PaymentState.PAID and not order.cancelled
    assert (order.currency, order.total, order.shipping_fee) == ("USD", Decimal("29.35"), Decimal("10.00"))
    assert order.payment_method == "bacs" and order.shop_status == "processing"
    assert order.shipping_methods == ("Flat Rate", "flat_rate")
    assert order.email == "john.doe@example.com" and order.phone == "(555) 555-5555"
    assert order.shipping_address == Address(
        first_name="John",
        last_name="Doe",
        street="969 Market",
        zip="94103",
        city="San Francisco",
        state="CA",
        country_code="US",
        email="john.doe@example.com",
        phone="(555) 555-5555",
    )
    first, second = order.lines
    assert (first.line_id, first.sku, first.quantity, first.unit_price) == ("315", None, 2, Decimal(3))
    assert first.requires_shipping is False and first.variant_id == "93"
    assert (second.sku, second.variant_id, second.requires_shipping) == ("Bar3", "23", True)
    assert order.note is None and order.tags == ()


def test_listed_orders_paid_by_status_and_unpaid_by_date() -> None:
    listed = doc_example("orders__list-all-orders.response")
    completed = mapping.order_from_wc(listed[1])
    assert completed.shop_status == "completed" and completed.payment_state is PaymentState.PAID
    pending = {**listed[1], "status": "pending", "date_paid_gmt": None}
    assert mapping.order_from_wc(pending).payment_state is PaymentState.PENDING
    refunded = mapping.order_from_wc({**listed[1], "status": "refunded"})
    assert refunded.payment_state is PaymentState.REFUNDED and refunded.cancelled


def test_tags_and_billing_fallback_address() -> None:
    data = copy.deepcopy(doc_example("orders__retrieve-an-order.response"))
    data["meta_data"].append({"id": 1, "key": "ffn_tags", "value": "vip, ffn-cancelled"})
    data["shipping"] = {k: "" for k in data["shipping"]}
    order = mapping.order_from_wc(data)
    assert order.tags == ("vip", "ffn-cancelled")
    assert order.shipping_address is not None and order.shipping_address.street == "969 Market"


def test_a_broken_order_names_itself_and_the_field() -> None:
    data = {**doc_example("orders__retrieve-an-order.response"), "date_created_gmt": "yesterday"}
    with pytest.raises(RecordError, match="order 727"):
        mapping.order_from_wc(data)


def test_simple_product_with_sku_ean_and_measures() -> None:
    data = {
        **doc_example("products__retrieve-a-product.response"),
        "sku": "PQ-1",
        "weight": "0.5",
        "dimensions": {"length": "30", "width": "20", "height": "2"},
        "global_unique_id": "4006381333931",
    }
    product = mapping.product_from_wc(data)
    assert product is not None
    assert (product.sku, product.name, product.external_id) == ("PQ-1", "Premium Quality", "794")
    assert (product.ean, product.net_price, product.weight_kg) == (
        "4006381333931",
        Decimal("21.99"),
        Decimal("0.5"),
    )
    assert (product.length_m, product.width_m, product.height_m) == (
        Decimal("0.30"),
        Decimal("0.20"),
        Decimal("0.02"),
    )
    assert product.stock_ref == "794"
    assert product.updated_at == datetime(2017, 3, 23, 20, 1, 14, tzinfo=UTC)
    grams = mapping.product_from_wc(data, weight_unit="g")
    assert grams is not None and grams.weight_kg == Decimal("0.0005")


def test_ean_from_a_configured_meta_key() -> None:
    data = {**doc_example("products__retrieve-a-product.response"), "sku": "PQ-1", "global_unique_id": "111"}
    data["meta_data"] = [{"id": 5, "key": "_alg_ean", "value": "4006381333931"}]
    product = mapping.product_from_wc(data, ean_meta_key="_alg_ean")
    assert product is not None and product.ean == "4006381333931"


def test_what_cannot_be_stocked_maps_to_none() -> None:
    products = doc_example("products__list-all-products.response")
    assert products[0]["type"] == "variable"
    assert mapping.product_from_wc({**products[0], "sku": "PARENT"}) is None
    assert mapping.product_from_wc(doc_example("products__retrieve-a-product.response")) is None  # no SKU
    virtual = {**doc_example("products__retrieve-a-product.response"), "sku": "E-BOOK", "virtual": True}
    assert mapping.product_from_wc(virtual) is None


def test_variation_with_its_parent() -> None:
    parent = doc_example("products__list-all-products.response")[0]
    variation = {
        **doc_example("product-variations__retrieve-a-product-variation.response"),
        "sku": "SHIP-BLK",
    }
    product = mapping.product_from_wc(variation, parent)
    assert product is not None
    assert (product.sku, product.name) == ("SHIP-BLK", "Ship Your Idea - Black")
    assert (product.external_id, product.stock_ref) == ("732", "799/732")
    assert mapping.parse_stock_ref(product.stock_ref) == (732, 799)
    assert mapping.parse_stock_ref("794") == (794, 0)
    assert mapping.parse_stock_ref("gid://shopify/InventoryItem/1") is None


def test_window_bounds_are_naive_utc_and_cover_the_start_second() -> None:
    window = Window(
        datetime(2026, 3, 1, 12, 0, 0, 500000, tzinfo=UTC), datetime(2026, 3, 1, 13, 0, tzinfo=UTC)
    )
    after, before = mapping.window_bounds(window)
    assert mapping.format_gmt(after) == "2026-03-01T11:59:59"
    assert mapping.format_gmt(before) == "2026-03-01T13:00:00"


def test_shipped_quantities_by_line_id_then_by_sku() -> None:
    items = doc_example("orders__retrieve-an-order.response")["line_items"]
    shipped = mapping.shipped_quantities(items, {}, [("315", None, 1)])
    assert shipped == {"315": 1}
    assert not mapping.fully_shipped(items, shipped, virtual_units=())
    shipped = mapping.shipped_quantities(items, shipped, [(None, "Bar3", 1), ("315", None, 1)])
    assert shipped == {"315": 2, "316": 1}
    assert mapping.fully_shipped(items, shipped, virtual_units=())
    # A virtual line never ships and does not hold the order back.
    assert mapping.fully_shipped(items, {"316": 1}, virtual_units={93})


def test_write_back_texts_and_payloads() -> None:
    shipped = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    assert mapping.tracking_payload("0034", "DHL", None, shipped) == {
        "tracking_number": "0034",
        "tracking_provider": "DHL",
        "date_shipped": "2026-03-01",
    }
    linked = mapping.tracking_payload("0034", "Spedition X", "https://x.example/0034", None)
    assert linked == {
        "tracking_number": "0034",
        "custom_tracking_provider": "Spedition X",
        "custom_tracking_link": "https://x.example/0034",
    }
    note = mapping.shipment_note([("0034", "DHL", None), ("99", None, "https://t/99")], complete=False)
    assert note == "Part of your order has been shipped. Tracking: DHL: 0034, 99 (https://t/99)"
    assert mapping.add_tag("vip", "ffn-cancelled") == "vip,ffn-cancelled"
    assert mapping.add_tag("vip,ffn-cancelled", "ffn-cancelled") == "vip,ffn-cancelled"
