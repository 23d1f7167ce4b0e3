"""Pure mappings on payloads assembled from the spec's own examples."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from adapters.ffn.mapping import (
    Carrier,
    carrier_from,
    create_outbound_body,
    create_product_body,
    fmt_dt,
    fulfiller_status,
    odata_quote,
    parse_dt,
    product_patch,
    shipment_from,
    stock_level_from_change,
    stock_level_from_stock,
)
from daemon.errors import RecordError
from daemon.model import Address, OutboundStatus
from tests.adapters.ffn.conftest import outbound, product
from tests.adapters.ffn.spec import example_of


def test_dates_carry_an_offset_and_parse_dotnet_fractions() -> None:
    assert fmt_dt(datetime(2020, 2, 11, 16, 5, 6, 834000, tzinfo=UTC)) == "2020-02-11T16:05:06.834+00:00"
    assert parse_dt("2020-03-02T08:49:37.9090000+00:00") == datetime(
        2020, 3, 2, 8, 49, 37, 909000, tzinfo=UTC
    )
    assert parse_dt("not a date") is None


def test_odata_quote_doubles_quotes() -> None:
    assert odata_quote("O'Neil") == "'O''Neil'"


def test_product_body_and_patch_against_spec_product() -> None:
    ffn_product = example_of("Product")
    shop = product("ART2394871", name=ffn_product["name"], ean=ffn_product["identifier"]["ean"])

    body = create_product_body(shop)
    patch = product_patch(shop, ffn_product)

    assert body["merchantSku"] == "ART2394871" and body["identifier"] == {"ean": "8896982295860"}
    assert body["netRetailPrice"] == {"amount": 12.5, "currency": "EUR"}
    assert "name" not in patch and "identifier" not in patch
    assert patch["weight"] == 0.25 and patch["originCountry"] == "DE"


def test_outbound_body_carries_ids_items_and_address() -> None:
    body = create_outbound_body(outbound("MERC02AXEV", "ORD-1", [("MERC01PRDCT", "ART2394871", 2)]))

    assert body["outboundId"] == "MERC02AXEV" and body["merchantOutboundNumber"] == "ORD-1"
    assert body["items"] == [
        {
            "outboundItemId": "1",
            "jfsku": "MERC01PRDCT",
            "merchantSku": "ART2394871",
            "itemType": "Product",
            "name": "Item ART2394871",
            "quantity": 2,
            "price": 9.99,
        }
    ]
    assert body["shippingAddress"]["lastname"] == "Mustermann" and body["shippingAddress"]["country"] == "DE"


@pytest.mark.parametrize(
    "address",
    [
        Address(first_name="A", street="S 1", city="C", country_code="DE"),
        Address(last_name="B", city="C", country_code="DE"),
    ],
)
def test_incomplete_address_names_the_order(address: Address) -> None:
    with pytest.raises(RecordError, match="ORD-9"):
        create_outbound_body(
            outbound("MERC02AXEV", "ORD-9", [("MERC01PRDCT", "X", 1)], shipping_address=address)
        )


def test_company_alone_is_enough() -> None:
    address = Address(company="ACME", street="S 1", city="C", country_code="de")
    body = create_outbound_body(
        outbound("MERC02AXEV", "ORD-8", [("MERC01PRDCT", "X", 1)], shipping_address=address)
    )
    assert body["shippingAddress"] == {"company": "ACME", "street": "S 1", "city": "C", "country": "DE"}


def test_fulfiller_status_from_spec_outbound() -> None:
    doc = example_of("Outbound")
    doc["status"] = "PartiallyShipped"
    doc["modificationInfo"] = {"createdAt": "2020-02-11T16:05:06.834+00:00"}

    status = fulfiller_status(doc)

    assert status.status is OutboundStatus.PARTIALLY_SHIPPED
    assert status.outbound_id == doc["outboundId"]
    assert status.lines[0].quantity_open == Decimal(str(doc["items"][0]["quantityOpen"]))
    assert status.updated_at == datetime(2020, 2, 11, 16, 5, 6, 834000, tzinfo=UTC)


def test_shipment_tracking_only_where_numbers_exist() -> None:
    note = example_of("OutboundShippingNotification")
    package = note["packages"][0]
    package.update(
        trackingUrl=None,
        shippingMethodId="FULF0A0001",
        identifier=[
            {"value": "JJD1", "identifierType": "TrackingId"},
            {"value": "AMZ", "identifierType": "AmazonShipmentId"},
        ],
    )
    untracked = copy.deepcopy(package) | {"identifier": []}
    note["packages"] = [package, untracked]
    carriers = {"FULF0A0001": carrier_from(example_of("ShippingMethod"))}

    shipment = shipment_from(note, carriers)

    assert [(t.number, t.carrier, t.url) for t in shipment.trackings] == [
        ("JJD1", "DHL", "http://nolp.dhl.de/nextt-online-public/set_identcodes.do?lang=de&idc=JJD1")
    ]
    assert shipment.shipment_id == note["outboundShippingNotificationId"]
    assert shipment.lines[0].jfsku == note["items"][0]["jfsku"]
    assert Carrier("X", None).url_for("1") is None


def test_stock_levels_from_change_and_complete() -> None:
    change = example_of("StockChange")
    level = stock_level_from_change(change)
    assert level.version == change["stockChangeId"]["stockVersion"]
    assert level.available == Decimal(str(change["stockLevel"]))

    stock = example_of("Stock")
    wid = stock["warehouses"][0]["warehouseId"]
    assert stock_level_from_stock(stock, wid).available == Decimal(str(stock["warehouses"][0]["stockLevel"]))
    assert stock_level_from_stock(stock, "OTHER-WAREHOUSE-1").available == 0
    assert stock_level_from_stock(stock, None).available == Decimal(str(stock["stockLevel"]))


def test_free_texts_are_cut_to_the_specs_limits() -> None:
    from adapters.ffn.mapping.outbounds import create_outbound_body

    long_street = "Langer Weg " * 40  # 440 characters
    body = create_outbound_body(
        outbound(
            "MERC02CUT0001",
            "SHOP-CUT",
            [("MERC01PRDCT", "A-1", 1)],
            external_note="n" * 5000,
            shipping_address=Address(last_name="Muster", street=long_street, city="Köln", country_code="de"),
        )
    )
    assert len(body["externalNote"]) == 4096 and body["externalNote"].endswith("…")
    assert len(body["shippingAddress"]["street"]) == 255
    assert body["shippingAddress"]["country"] == "DE"


def test_limits_count_utf16_units_as_net_does() -> None:
    from adapters.ffn.mapping.outbounds import truncate, utf16_length

    note = "Danke 🎉 " * 600  # 4,800 characters, 5,400 UTF-16 units: an emoji counts twice in .NET
    cut = truncate(note, 4096)
    assert cut is not None and utf16_length(cut) <= 4096 and cut.endswith("…")
    assert utf16_length(cut) >= 4095  # cut at a character boundary, never inside a surrogate pair
    assert truncate("🎉" * 2048, 4096) == "🎉" * 2048  # exactly at the limit: unchanged
