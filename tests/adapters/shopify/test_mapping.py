"""Pure mapping on GraphQL-shaped samples (rebuilt from Shopify's official examples) and edge cases."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from adapters.shopify.mapping import (
    MappingError,
    map_order,
    map_variant,
    payment_state,
    variant_skip_reason,
    weight_kg,
)
from daemon.model import PaymentState

SAMPLES = Path(__file__).parent / "samples"


def sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads((SAMPLES / name).read_bytes())
    return data


def test_official_order_sample_maps_to_a_canonical_order() -> None:
    order = map_order(sample("order_1001.json"))
    assert order.order_id == "gid://shopify/Order/450789469"
    assert order.number == "1001"
    assert order.created_at == datetime(2008, 1, 10, 16, 0, tzinfo=UTC)
    assert order.currency == "USD"
    assert order.total == Decimal("199.65")
    assert order.payment_state is PaymentState.PARTIALLY_REFUNDED
    assert order.payment_method == "bogus"
    assert order.email == "bob.norman@mail.example.com"
    assert order.shipping_methods == ("Free Shipping",)
    assert order.shipping_fee == Decimal("0.00")
    address = order.shipping_address
    assert address is not None
    assert (address.first_name, address.last_name, address.street) == ("Bob", "Norman", "Chestnut Street 92")
    assert address.extra_line is None  # "" is no second line
    assert (address.zip, address.city, address.state, address.country_code) == (
        "40202",
        "Louisville",
        "KY",
        "US",
    )
    assert address.phone == "+1(502)-459-2181"
    assert address.email == "bob.norman@mail.example.com"
    # The green and black lines were refunded (currentQuantity 0): only red is left to ship.
    assert [(li.sku, li.quantity) for li in order.lines] == [("IPOD2008RED", 1)]
    line = order.lines[0]
    assert line.line_id == "gid://shopify/LineItem/518995019"
    assert line.unit_price == Decimal("199.00")
    assert line.variant_id == "gid://shopify/ProductVariant/49148385"
    assert line.requires_shipping is True


def _order(**changes: Any) -> dict[str, Any]:
    node = copy.deepcopy(sample("order_1001.json"))
    node.update(changes)
    return node


def test_line_without_sku_keeps_a_none_sku() -> None:
    node = _order()
    node["lineItems"]["nodes"][1]["sku"] = ""
    assert map_order(node).lines[0].sku is None


def test_digital_line_is_kept_and_marked_as_not_shipping() -> None:
    node = _order()
    node["lineItems"]["nodes"].append(
        {"id": "gid://shopify/LineItem/9", "sku": None, "name": "Gift card", "quantity": 1, "currentQuantity": 1,
         "requiresShipping": False, "variant": None,
         "originalUnitPriceSet": {"shopMoney": {"amount": "25.00", "currencyCode": "USD"}}}
    )  # fmt: skip
    lines = map_order(node).lines
    assert [(li.name, li.requires_shipping, li.variant_id) for li in lines] == [
        ("IPod Nano - 8gb - red", True, "gid://shopify/ProductVariant/49148385"),
        ("Gift card", False, None),
    ]


def test_order_without_shipping_address() -> None:
    assert map_order(_order(shippingAddress=None)).shipping_address is None


def test_multiple_shipping_lines_keep_order_and_add_differing_codes() -> None:
    node = _order(
        shippingLines={
            "nodes": [{"title": "DHL Express", "code": "dhl_express"}, {"title": "Insurance", "code": None}]
        },
        currentShippingPriceSet={"shopMoney": {"amount": "12.90", "currencyCode": "USD"}},
    )
    order = map_order(node)
    assert order.shipping_methods == ("DHL Express", "Insurance", "dhl_express")
    assert order.shipping_fee == Decimal("12.90")


def test_cancelled_order() -> None:
    order = map_order(_order(cancelledAt="2008-01-11T09:00:00Z", displayFinancialStatus="VOIDED"))
    assert order.cancelled is True
    assert order.payment_state is PaymentState.VOIDED


def test_non_ascii_address_survives_unchanged() -> None:
    node = _order()
    node["shippingAddress"] = {
        "firstName": "Jörg", "lastName": "Straßburger-Łukasiewicz", "company": "Café Zürich GmbH",
        "address1": "Königsallee 5", "address2": "Hinterhaus, 3. OG", "city": "Düsseldorf", "zip": "40212",
        "province": None, "provinceCode": None, "countryCodeV2": "DE", "phone": None,
    }  # fmt: skip
    address = map_order(node).shipping_address
    assert address is not None
    assert address.last_name == "Straßburger-Łukasiewicz"
    assert address.company == "Café Zürich GmbH"
    assert (address.street, address.extra_line, address.city) == (
        "Königsallee 5",
        "Hinterhaus, 3. OG",
        "Düsseldorf",
    )
    assert address.phone == "+557734881234"  # the order's phone when the address has none


def test_extra_line_pages_are_appended() -> None:
    extra = copy.deepcopy(sample("order_1001.json")["lineItems"]["nodes"][1])
    extra["id"], extra["sku"], extra["currentQuantity"] = "gid://shopify/LineItem/77", "IPOD2008BLUE", 3
    assert [(li.sku, li.quantity) for li in map_order(_order(), [extra]).lines] == [
        ("IPOD2008RED", 1),
        ("IPOD2008BLUE", 3),
    ]


def test_unknown_financial_status_is_unknown_not_an_error() -> None:
    assert payment_state("SOMETHING_NEW") is PaymentState.UNKNOWN
    assert payment_state(None) is PaymentState.UNKNOWN
    assert payment_state("EXPIRED") is PaymentState.VOIDED


def test_order_without_currency_is_a_clear_error() -> None:
    node = _order(currencyCode=None, currentTotalPriceSet=None)
    with pytest.raises(MappingError, match="gid://shopify/Order/450789469: currencyCode is missing"):
        map_order(node)


def test_official_variant_sample_maps_to_a_product() -> None:
    product = map_variant(sample("variant_39072856.json"), "USD")
    assert product.sku == "IPOD2008GREEN"
    assert product.name == "IPod Nano - 8GB - Green"
    assert product.ean == "1234_green"
    assert product.net_price == Decimal("199.00")
    assert product.currency == "USD"
    assert product.weight_kg == Decimal("0.566990")  # 1.25 lb
    assert product.stock_ref == "gid://shopify/InventoryItem/39072856"
    assert product.external_id == "gid://shopify/ProductVariant/39072856"
    assert product.updated_at == datetime(2025, 7, 2, 16, 38, 15, tzinfo=UTC)


def test_variant_skip_reasons() -> None:
    node = sample("variant_39072856.json")
    assert variant_skip_reason(node) is None
    assert variant_skip_reason({**node, "sku": None}) == "variant has no SKU"
    assert variant_skip_reason({**node, "sku": "  "}) == "variant has no SKU"
    digital = {**node, "inventoryItem": {**node["inventoryItem"], "requiresShipping": False}}
    assert variant_skip_reason(digital) is not None


def test_default_title_variant_is_named_after_its_product() -> None:
    node = {**sample("variant_39072856.json"), "title": "Default Title"}
    assert map_variant(node, None).name == "IPod Nano - 8GB"


@pytest.mark.parametrize(
    ("value", "unit", "kg"),
    [(500, "GRAMS", "0.5"), (2, "KILOGRAMS", "2"), (16, "OUNCES", "0.453592"), (1, "POUNDS", "0.453592")],
)
def test_weights_become_kilograms(value: float, unit: str, kg: str) -> None:
    assert weight_kg({"value": value, "unit": unit}) == Decimal(kg)


def test_missing_weight_is_none() -> None:
    assert weight_kg(None) is None
    assert weight_kg({"value": None, "unit": "GRAMS"}) is None
