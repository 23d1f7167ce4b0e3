"""``match_shipment`` as a table: each FFN shipment line (jfsku, quantity) is given the shop's SKU and order
line; a line that cannot be matched refuses the shipment with what to do; trackings are made safe."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from daemon.engine.hygiene import SHOP_TRACKING_LIMITS
from daemon.engine.matching import match_shipment
from daemon.errors import RecordError
from daemon.model import OrderLine, PaymentState, Shipment, ShipmentLine, ShopOrder, Tracking

AT = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
ORDER = ShopOrder(
    order_id="1001",
    number="1001",
    created_at=AT,
    updated_at=AT,
    currency="EUR",
    total=Decimal("40"),
    payment_state=PaymentState.PAID,
    lines=(
        OrderLine("l1", "MUG", "Mug", 2),
        OrderLine("l2", "CAP", "Cap", 1),
        OrderLine("l3", "MUG", "Mug (gift wrapped)", 3),
        OrderLine("l4", "EBOOK", "E-Book", 1, requires_shipping=False),
    ),
)
SKUS = {"JF-MUG": "MUG", "JF-CAP": "CAP", "JF-EBOOK": "EBOOK"}


def shipment(*lines: ShipmentLine, trackings: tuple[Tracking, ...] = ()) -> Shipment:
    return Shipment("SN-1", "OB-1", "S-1001", lines=lines, trackings=trackings)


def line(jfsku: str | None, quantity: int, sku: str | None = None) -> ShipmentLine:
    return ShipmentLine(Decimal(quantity), jfsku=jfsku, sku=sku)


MATCHES = [
    pytest.param([line("JF-CAP", 1)], [("l2", "CAP", 1)], id="jfsku-to-its-line"),
    pytest.param([line(None, 1, sku="CAP")], [("l2", "CAP", 1)], id="sku-given-without-jfsku"),
    pytest.param([line("JF-MUG", 1)], [("l1", "MUG", 1)], id="partial-first-line"),
    pytest.param([line("JF-MUG", 2)], [("l1", "MUG", 2)], id="exactly-the-first-line"),
    pytest.param([line("JF-MUG", 4)], [("l1", "MUG", 2), ("l3", "MUG", 2)], id="same-sku-spread-in-order"),
    pytest.param(
        [line("JF-MUG", 7)], [("l1", "MUG", 2), ("l3", "MUG", 5)], id="more-than-ordered-to-last-line"
    ),
    pytest.param(
        [line("JF-MUG", 2), line("JF-MUG", 1)],
        [("l1", "MUG", 2), ("l3", "MUG", 1)],
        id="second-item-continues",
    ),
    pytest.param(
        [line("JF-CAP", 1), line("JF-MUG", 5)],
        [("l2", "CAP", 1), ("l1", "MUG", 2), ("l3", "MUG", 3)],
        id="whole-order",
    ),
    pytest.param([line("JF-MUG", 0)], [], id="zero-quantity-matches-nothing"),
]


@pytest.mark.parametrize(("lines", "expected"), MATCHES)
def test_each_shipped_quantity_lands_on_the_order_lines_of_its_sku(
    lines: list[ShipmentLine], expected: list[tuple[str, str, int]]
) -> None:
    matched = match_shipment(shipment(*lines), ORDER, SKUS)
    assert [(m.line_id, m.sku, m.quantity) for m in matched.lines] == [
        (line_id, sku, Decimal(q)) for line_id, sku, q in expected
    ]


REFUSALS = [
    pytest.param(line("JF-HAT", 1), "jfsku JF-HAT is not mapped to a SKU; run the products flow", id="unknown-jfsku"),
    pytest.param(line(None, 1), "jfsku None is not mapped to a SKU", id="neither-jfsku-nor-sku"),
    pytest.param(line(None, 1, sku="HAT"), "SKU 'HAT' is not on the shop order (edited after export?)",
                 id="sku-not-on-order"),
    pytest.param(line("JF-EBOOK", 1), "SKU 'EBOOK' is not on the shop order", id="sku-only-on-a-digital-line"),
]  # fmt: skip


@pytest.mark.parametrize(("item", "words"), REFUSALS)
def test_a_line_that_cannot_be_matched_refuses_the_shipment_naming_it(item: ShipmentLine, words: str) -> None:
    with pytest.raises(RecordError) as refused:
        match_shipment(shipment(item), ORDER, SKUS)
    assert (
        refused.value.message.startswith("shipment SN-1 of order S-1001: ") and words in refused.value.message
    )


TRACKINGS = [
    pytest.param(Tracking("1Z999", "UPS", "https://ups.example/1Z999"), Tracking("1Z999", "UPS", "https://ups.example/1Z999"),
                 id="kept"),
    pytest.param(Tracking(" 1Z999 ", " UPS ", None), Tracking("1Z999", "UPS", None), id="stripped"),
    pytest.param(Tracking("1Z999", "UPS", "javascript:alert(1)"), Tracking("1Z999", "UPS", None),
                 id="script-url-dropped"),
    pytest.param(Tracking("1Z999", None, "ftp://host/x"), Tracking("1Z999", None, None), id="non-http-url-dropped"),
    pytest.param(Tracking("1Z999", None, "https://" + "x" * SHOP_TRACKING_LIMITS["url"]), Tracking("1Z999"),
                 id="overlong-url-dropped"),
    pytest.param(Tracking("N" * 300, "C" * 300), Tracking("N" * 255, "C" * 255), id="number-and-carrier-cut"),
    pytest.param(Tracking("   "), Tracking(None), id="blank-number-none"),
]  # fmt: skip


@pytest.mark.parametrize(("tracking", "expected"), TRACKINGS)
def test_trackings_reach_the_shop_within_its_limits_and_only_with_http_links(
    tracking: Tracking, expected: Tracking
) -> None:
    matched = match_shipment(shipment(line("JF-CAP", 1), trackings=(tracking,)), ORDER, SKUS)
    assert matched.trackings == (expected,)
