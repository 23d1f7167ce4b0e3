"""Putting orders back together from a bulk result, whatever order the lines come in. Pure."""

from __future__ import annotations

import orjson
import pytest

from adapters.shopify.bulk_jsonl import Assembly, ResultUnusable, assemble

ORDER = "gid://shopify/Order/1"
FO = "gid://shopify/FulfillmentOrder/5"


def _line(**fields: object) -> bytes:
    return orjson.dumps(fields)


def test_children_before_their_parents_still_land_under_them() -> None:
    lines = [
        _line(
            __typename="FulfillmentOrderLineItem", remainingQuantity=2, lineItem={"id": "L1"}, __parentId=FO
        ),
        _line(__typename="LineItem", id="gid://shopify/LineItem/9", sku="A", __parentId=ORDER),
        _line(__typename="FulfillmentOrder", id=FO, status="OPEN", __parentId=ORDER),
        _line(id=ORDER, name="#1001"),
        _line(__typename="ShippingLine", title="DHL", code="dhl", __parentId=ORDER),
        b"",
    ]
    [order] = assemble(lines).finish()
    assert [li["sku"] for li in order["lineItems"]["nodes"]] == ["A"]
    assert order["lineItems"]["pageInfo"] == {"hasNextPage": False}
    assert [s["title"] for s in order["shippingLines"]["nodes"]] == ["DHL"]
    [fo] = order["fulfillmentOrders"]["nodes"]
    assert fo["id"] == FO and "__order" not in fo
    assert [li["remainingQuantity"] for li in fo["lineItems"]["nodes"]] == [2]


def test_a_broken_line_that_names_its_order_parks_that_order_only() -> None:
    assembly = Assembly()
    assembly.feed(_line(id=ORDER, name="#1001"), 1)
    assembly.feed(_line(id="gid://shopify/Order/2", name="#1002"), 2)
    assembly.feed(b'{"__typename":"LineItem","quantity":,"__parentId":"' + ORDER.encode() + b'"}', 3)
    assembly.feed(b'{"id":"gid://shopify/Order/3","name":', 4)  # an order's own line, cut
    orders = assembly.finish()
    assert [o["id"] for o in orders] == [ORDER, "gid://shopify/Order/2"]
    assert assembly.broken[ORDER].startswith("line 3 of the bulk result is not a JSON object")
    assert assembly.broken["gid://shopify/Order/3"].startswith("line 4 of the bulk result")


def test_a_broken_fulfillment_order_line_parks_the_order_it_belongs_to() -> None:
    assembly = assemble(
        [
            _line(id=ORDER, name="#1001"),
            _line(__typename="FulfillmentOrder", id=FO, status="OPEN", __parentId=ORDER),
            b'{"__typename":"FulfillmentOrderLineItem","remainingQuantity":"x,"__parentId":"'
            + FO.encode()
            + b'"}',
        ]
    )
    assembly.finish()
    assert list(assembly.broken) == [ORDER]


@pytest.mark.parametrize(
    "lines",
    [
        [_line(id=ORDER), b'{"__typename":"LineItem","sku":"A"'],  # cut before it names its parent
        [
            _line(id=ORDER),
            _line(__typename="LineItem", __parentId="gid://shopify/Order/77"),
        ],  # parent missing
        [_line(name="#1001")],  # an order without an id
    ],
)
def test_a_file_that_cannot_be_trusted_as_a_whole_says_so(lines: list[bytes]) -> None:
    with pytest.raises(ResultUnusable):
        assemble(lines).finish()


def test_a_child_of_an_unexpected_kind_parks_its_order() -> None:
    assembly = assemble(
        [_line(id=ORDER), _line(__typename="Refund", id="gid://shopify/Refund/1", __parentId=ORDER)]
    )
    assembly.finish()
    assert "a Refund line under a Order is not part of the order query" in assembly.broken[ORDER]
