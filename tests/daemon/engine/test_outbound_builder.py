"""``build_outbound`` as a table: what each order line becomes, how the address is made acceptable, and
which orders are refused with which reason code (each refusal names the order and what to fix)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from daemon.engine.outbound_builder import (
    ITEM_NAME_LIMIT,
    REASON_ADDRESS,
    REASON_COUNTRY,
    REASON_MISSING_SKU,
    REASON_QUANTITY,
    REASON_SHIPPING_METHOD,
    REASON_UNKNOWN_SKU,
    OrderRefused,
    build_outbound,
)
from daemon.engine.settings import ChannelSettings
from daemon.ids import outbound_id
from daemon.model import Address, OrderLine, Outbound, PaymentState, ShopOrder

AT = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
CHANNEL = ChannelSettings(
    name="shop", kind="woocommerce", order_prefix="S-", shipping_map={"Express": "FULF0A0002"},
    default_shipping_method="FULF0A0001",
)  # fmt: skip
ADDRESS = Address(
    first_name="Erika", last_name="Muster", street="Weg 1", zip="50667", city="Köln", country_code="DE"
)
MUG = OrderLine("l1", "MUG", "Mug", 2, Decimal("9.50"))
ORDER = ShopOrder(
    order_id="1001", number="1001", created_at=AT, updated_at=AT, currency="EUR", total=Decimal("19"),
    payment_state=PaymentState.PAID, email="erika@example.com", phone="+49 221 1", shipping_address=ADDRESS,
    shipping_methods=("Standard",), shipping_fee=Decimal("4.90"), note="ring twice", lines=(MUG,),
)  # fmt: skip
JFSKUS = {"MUG": "JFSKU0MUG", "CAP": "JFSKU0CAP"}


def build(order: ShopOrder, channel: ChannelSettings = CHANNEL) -> Outbound:
    return build_outbound(order, channel, ffn_merchant_id="MERC", warehouse_id="WH1", jfsku_by_sku=JFSKUS)


def items(outbound: Outbound) -> list[tuple[str, str, Decimal]]:
    return [(item.outbound_item_id, item.merchant_sku, item.quantity) for item in outbound.items]


LINES = [
    pytest.param((MUG,), [("1", "MUG", Decimal(2))], id="one-line"),
    pytest.param(
        (MUG, OrderLine("l2", "CAP", "Cap", 1)),
        [("1", "MUG", Decimal(2)), ("2", "CAP", Decimal(1))],
        id="two-lines",
    ),
    pytest.param(
        (replace(MUG, quantity=0), OrderLine("l2", "CAP", "Cap", 1)),
        [("2", "CAP", Decimal(1))],
        id="zero-quantity-left-out-position-kept",
    ),
    pytest.param(
        (OrderLine("l0", None, "Gift card", 1, requires_shipping=False), MUG),
        [("2", "MUG", Decimal(2))],
        id="digital-line-left-out-even-without-sku",
    ),
    pytest.param(
        (OrderLine("l0", "EBOOK", "E-Book", -1, requires_shipping=False), MUG),
        [("2", "MUG", Decimal(2))],
        id="digital-line-never-refused",
    ),
    pytest.param(
        (MUG, replace(MUG, line_id="l2")),
        [("1", "MUG", Decimal(2)), ("2", "MUG", Decimal(2))],
        id="same-sku-twice",
    ),
]


@pytest.mark.parametrize(("lines", "expected"), LINES)
def test_each_line_the_warehouse_ships_becomes_one_item_numbered_by_its_position(
    lines: tuple[OrderLine, ...], expected: list[tuple[str, str, Decimal]]
) -> None:
    assert items(build(replace(ORDER, lines=lines))) == expected


REFUSALS = [
    pytest.param({"lines": (replace(MUG, quantity=-1),)}, REASON_QUANTITY,
                 "line 1 ('Mug', SKU 'MUG') has quantity -1", id="negative-quantity"),
    pytest.param({"lines": (replace(MUG, sku=None),)}, REASON_MISSING_SKU, "line 1 ('Mug') has no SKU",
                 id="line-without-sku"),
    pytest.param({"lines": (replace(MUG, sku=""),)}, REASON_MISSING_SKU, "has no SKU", id="line-with-blank-sku"),
    pytest.param({"lines": (replace(MUG, sku="HAT"),)}, REASON_UNKNOWN_SKU, "SKU 'HAT' is not a product in FFN yet",
                 id="sku-not-in-ffn"),
    pytest.param({"shipping_address": None}, REASON_ADDRESS, "lacks street, city or country", id="no-address"),
    pytest.param({"shipping_address": replace(ADDRESS, street=None)}, REASON_ADDRESS,
                 "lacks street, city or country", id="no-street"),
    pytest.param({"shipping_address": replace(ADDRESS, city="")}, REASON_ADDRESS, "lacks street, city or country",
                 id="blank-city"),
    pytest.param({"shipping_address": replace(ADDRESS, country_code=None)}, REASON_ADDRESS,
                 "lacks street, city or country", id="no-country"),
    pytest.param({"shipping_address": replace(ADDRESS, last_name=None)}, REASON_ADDRESS,
                 "needs a last name or a company", id="no-last-name-nor-company"),
    pytest.param({"shipping_address": replace(ADDRESS, country_code="Atlantis")}, REASON_COUNTRY,
                 "country 'Atlantis' is not an ISO 3166-1 code", id="unknown-country"),
    pytest.param({"shipping_address": replace(ADDRESS, country_code="QQ")}, REASON_COUNTRY, "'QQ'",
                 id="unassigned-alpha-2"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "reason_code", "words"), REFUSALS)
def test_an_order_ffn_cannot_ship_as_it_stands_is_refused_with_its_reason(
    change: dict[str, object], reason_code: str, words: str
) -> None:
    with pytest.raises(OrderRefused) as refused:
        build(replace(ORDER, **change))  # type: ignore[arg-type]
    assert refused.value.reason_code == reason_code
    assert refused.value.message.startswith("order S-1001: ") and words in refused.value.message


def test_an_unmapped_shipping_method_without_a_default_is_refused_naming_the_method() -> None:
    channel = replace(CHANNEL, default_shipping_method=None)
    with pytest.raises(OrderRefused) as refused:
        build(replace(ORDER, shipping_methods=("Teleport", "Pigeon")), channel)
    assert refused.value.reason_code == REASON_SHIPPING_METHOD
    assert "shipping method 'Teleport', 'Pigeon' is not mapped" in refused.value.message
    assert "[channels.shipping.map]" in refused.value.message


@pytest.mark.parametrize(
    ("methods", "expected"),
    [
        pytest.param(("Express",), "FULF0A0002", id="mapped"),
        pytest.param(("Standard", "Express"), "FULF0A0002", id="first-mapped-title-wins"),
        pytest.param(("Standard",), "FULF0A0001", id="unmapped-takes-the-default"),
        pytest.param((), "FULF0A0001", id="none-takes-the-default"),
    ],
)
def test_the_shipping_method_is_the_first_mapped_title_or_the_channel_default(
    methods: tuple[str, ...], expected: str
) -> None:
    assert build(replace(ORDER, shipping_methods=methods)).shipping_method_id == expected


@pytest.mark.parametrize(
    ("address", "order_contact", "expected"),
    [
        pytest.param(replace(ADDRESS, country_code="de"), {}, replace(ADDRESS, email="erika@example.com",
                     phone="+49 221 1"), id="lower-case-country-and-order-contact"),
        pytest.param(replace(ADDRESS, country_code="Germany"), {}, replace(ADDRESS, email="erika@example.com",
                     phone="+49 221 1"), id="country-name"),
        pytest.param(replace(ADDRESS, country_code="DEU"), {}, replace(ADDRESS, email="erika@example.com",
                     phone="+49 221 1"), id="alpha-3"),
        pytest.param(replace(ADDRESS, country_code="UK"), {}, replace(ADDRESS, country_code="GB",
                     email="erika@example.com", phone="+49 221 1"), id="uk-is-gb"),
        pytest.param(replace(ADDRESS, email="ship@example.com", phone=None), {},
                     replace(ADDRESS, email="ship@example.com"), id="address-email-kept-phone-not-added"),
        pytest.param(replace(ADDRESS, phone="+49 1"), {}, replace(ADDRESS, email="erika@example.com", phone="+49 1"),
                     id="address-phone-kept"),
        pytest.param(ADDRESS, {"email": None, "phone": None}, ADDRESS, id="no-contact-anywhere"),
        pytest.param(replace(ADDRESS, last_name=None, company="ACME GmbH"), {"email": None},
                     replace(ADDRESS, last_name=None, company="ACME GmbH"), id="company-instead-of-last-name"),
    ],
)  # fmt: skip
def test_the_address_gets_an_iso_country_and_the_orders_contact_when_it_has_none(
    address: Address, order_contact: dict[str, object], expected: Address
) -> None:
    order = replace(ORDER, shipping_address=address, **order_contact)  # type: ignore[arg-type]
    assert build(order).shipping_address == expected


def test_an_item_name_is_cut_to_ffns_limit_and_the_order_fields_are_carried() -> None:
    outbound = build(replace(ORDER, lines=(replace(MUG, name="M" * (ITEM_NAME_LIMIT + 45)),)))
    assert outbound.items[0].name == "M" * ITEM_NAME_LIMIT
    assert outbound.items[0].jfsku == "JFSKU0MUG" and outbound.items[0].unit_price == Decimal("9.50")
    assert outbound.outbound_id == outbound_id("MERC", "shop", "1001")
    assert (outbound.merchant_outbound_number, outbound.external_number, outbound.sales_channel) == (
        "S-1001",
        "1001",
        "shop",
    )
    assert (outbound.warehouse_id, outbound.currency, outbound.order_value, outbound.shipping_fee) == (
        "WH1",
        "EUR",
        Decimal("19"),
        Decimal("4.90"),
    )
    assert outbound.external_note == "ring twice"
