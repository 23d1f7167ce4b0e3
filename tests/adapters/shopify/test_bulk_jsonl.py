"""Putting orders back together from a bulk result, whatever order the lines come in. Pure."""

from __future__ import annotations

import orjson
import pytest

from adapters.shopify.bulk_jsonl import Assembly, Grouped, ResultUnusable, assemble

ORDER = "gid://shopify/Order/1"
FO = "gid://shopify/FulfillmentOrder/5"


def _line(**fields: object) -> bytes:
    return orjson.dumps(fields)


def test_children_before_their_parents_still_land_under_them() -> None:
    lines = [
        _line(
            __typename="FulfillmentOrderLineItem", remainingQuantity=2, lineItem={"id": "L1"}, __parentId=FO
        ),
        _line(__typename="FulfillmentOrder", id=FO, status="OPEN", __parentId=ORDER),
        _line(id=ORDER, name="#1001"),
        _line(__typename="ShippingLine", title="DHL", code="dhl", __parentId=ORDER),
        b"",
    ]
    [order] = assemble(lines).finish()
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


ORDER_2 = "gid://shopify/Order/2"
FO_2 = "gid://shopify/FulfillmentOrder/6"


def _group(order: str, fo: str, *, depth_first: bool) -> list[bytes]:
    own = _line(id=order, name=f"#{order[-1]}")
    fo_line = _line(__typename="FulfillmentOrder", id=fo, status="OPEN", __parentId=order)
    fo_line_item = _line(
        __typename="FulfillmentOrderLineItem",
        remainingQuantity=1,
        lineItem={"id": f"L{order[-1]}"},
        __parentId=fo,
    )
    shipping = _line(__typename="ShippingLine", title="DHL", code="dhl", __parentId=order)
    if depth_first:  # each child followed by its own children
        return [own, fo_line, fo_line_item, shipping]
    return [own, fo_line, shipping, fo_line_item]  # the order's children first, then theirs


@pytest.mark.parametrize("depth_first", [False, True], ids=["levels", "depth"])
def test_a_grouped_result_hands_each_order_on_when_the_next_one_starts(depth_first: bool) -> None:
    grouped = Grouped()
    handed: list[list[str]] = []
    lines = [*_group(ORDER, FO, depth_first=depth_first), *_group(ORDER_2, FO_2, depth_first=depth_first)]
    for number, raw in enumerate(lines, start=1):
        handed.append([node["id"] for node, _ in grouped.feed(raw, number)])
    # Nothing before the second order's line; the first order complete right then, not at the file's end.
    assert handed == [[], [], [], [], [ORDER], [], [], []]
    [(last, reason)] = grouped.finish()
    assert last["id"] == ORDER_2 and reason is None
    [fo] = last["fulfillmentOrders"]["nodes"]
    assert [li["lineItem"]["id"] for li in fo["lineItems"]["nodes"]] == ["L2"]
    assert [s["title"] for s in last["shippingLines"]["nodes"]] == ["DHL"]


def test_a_line_outside_its_orders_group_makes_a_grouped_result_unusable() -> None:
    # Shopify promised grouping: a child of an order already handed on would have come too late.
    grouped = Grouped()
    lines = [
        *_group(ORDER, FO, depth_first=True),
        _line(id=ORDER_2, name="#2"),
        _line(__typename="ShippingLine", title="late", code="x", __parentId=ORDER),
    ]
    with pytest.raises(ResultUnusable, match="not in its order's group"):
        for number, raw in enumerate(lines, start=1):
            grouped.feed(raw, number)
        grouped.finish()


def test_a_broken_line_in_a_grouped_result_parks_its_order_only() -> None:
    grouped = Grouped()
    done = grouped.feed(_line(id=ORDER, name="#1"), 1)
    done += grouped.feed(b'{"__typename":"ShippingLine","title":,"__parentId":"' + ORDER.encode() + b'"}', 2)
    done += grouped.feed(b'{"id":"gid://shopify/Order/3","name":', 3)  # an order's own line, cut
    done += grouped.feed(_line(id=ORDER_2, name="#2"), 4)
    done += grouped.finish()
    reasons = {node["id"]: reason for node, reason in done}
    assert list(reasons) == [ORDER, "gid://shopify/Order/3", ORDER_2]
    assert reasons[ORDER] is not None and reasons[ORDER].startswith("line 2 of the bulk result")
    assert reasons["gid://shopify/Order/3"] is not None and reasons[ORDER_2] is None
