"""What the adapter writes uses only fields WooCommerce documents, with the documented JSON types.

WooCommerce ignores body fields its item schema does not know (WP REST drops unknown params), so a
misspelt field is not an error at the shop: the write answers 200 and nothing changes. The sandbox is
written by the same hands as the client and would agree with a misspelling; these checks hold every
write the adapter makes against the vendor's own documentation instead:

- wc/v3 resources: the docs' request example for the route, else the fields of the resource as the
  docs' response example shows them (every writable field is one of those); write-only fields the docs'
  property tables name (a webhook's ``secret``) are listed here.
- The Shipment Tracking extension publishes no examples file we carry; its request fields are those of
  woocommerce.com/document/shipment-tracking/shipment-tracking-rest-api-create-tracking-item/ (tracking_number,
  tracking_provider, custom_tracking_provider, custom_tracking_link, date_shipped as YYYY-MM-DD).

A write to a route not listed here fails the test: a new kind of write needs its documentation first.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import orjson

from adapters.woocommerce import WooCommerceChannel
from adapters.woocommerce.webhooks import Webhooks
from daemon.model import (
    FulfillerStatus,
    OrderRef,
    OutboundStatus,
    Shipment,
    ShipmentLine,
    ShopStock,
    Tracking,
)
from daemon.secrets import Secret
from daemon.webhooks.types import WebhookCredentials, WebhookFlow
from sandboxes.kit.requestlog import LoggedExchange
from tests.adapters.woocommerce.conftest import ChannelFactory, Shop, ShopFactory, doc_example
from tests.adapters.woocommerce.shapes import shape_diff

TRACKING_FIELDS = {
    "tracking_number": "string",
    "tracking_provider": "string",
    "custom_tracking_provider": "string",
    "custom_tracking_link": "string",
    "date_shipped": "YYYY-MM-DD",
}
WEBHOOK_WRITE_ONLY = {"secret": "string"}
# Fields the examples show as null, typed as the docs' property tables type them ("integer").
NULL_IN_EXAMPLE = {"stock_quantity": 0}
ANY_TYPE = {"$.meta_data[].value"}  # "mixed" in the docs' meta data table


def _item(example: str) -> dict[str, Any]:
    value = doc_example(example)
    item: dict[str, Any] = value[0] if isinstance(value, list) else value
    return {**item, **{k: v for k, v in NULL_IN_EXAMPLE.items() if k in item and item[k] is None}}


def _unknown_or_mistyped(reference: dict[str, Any], body: dict[str, Any], path: str = "$") -> list[str]:
    """Fields of ``body`` the reference lacks or types differently; fields it leaves out are fine."""
    diffs = shape_diff(reference, body, path=path, any_type=ANY_TYPE)
    return [d for d in diffs if not d.endswith(": missing")]


def _batch_update(item_example: str, request_example: str, body: Any) -> list[str]:
    problems = [f"$.{key}: not a batch key" for key in body.keys() - doc_example(request_example).keys()]
    for entry in body.get("update", []):
        problems += _unknown_or_mistyped(_item(item_example), entry, "$.update[]")
    return problems


def _tracking(body: dict[str, Any]) -> list[str]:
    problems = [f"$.{key}: not a documented tracking field" for key in body.keys() - TRACKING_FIELDS.keys()]
    problems += [f"$.{key}: not a string" for key, value in body.items() if not isinstance(value, str)]
    if "date_shipped" in body and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(body["date_shipped"])):
        problems.append("$.date_shipped: not YYYY-MM-DD")
    if "tracking_number" not in body:
        problems.append("$.tracking_number: required, missing")
    return problems


def _webhook(body: dict[str, Any]) -> list[str]:
    reference = {
        **doc_example("webhooks__create-a-webhook.request"),
        **_item("webhooks__create-a-webhook.response"),
    }
    plain = {k: v for k, v in body.items() if k not in WEBHOOK_WRITE_ONLY}
    problems = _unknown_or_mistyped(reference, plain)
    return problems + [
        f"$.{k}: not a string" for k in WEBHOOK_WRITE_ONLY if k in body and not isinstance(body[k], str)
    ]


ROUTES: list[tuple[str, str, Any]] = [
    (
        "POST",
        r"/wp-json/wc/v3/orders/\d+",
        lambda b: _unknown_or_mistyped(_item("orders__retrieve-an-order.response"), b),
    ),
    (
        "POST",
        r"/wp-json/wc/v3/orders/\d+/notes",
        lambda b: _unknown_or_mistyped(_item("order-notes__create-an-order-note.response"), b),
    ),
    (
        "POST",
        r"/wp-json/wc/v3/products/batch",
        lambda b: _batch_update(
            "products__retrieve-a-product.response", "products__batch-update-products.request", b
        ),
    ),
    (
        "POST",
        r"/wp-json/wc/v3/products/\d+/variations/batch",
        lambda b: _batch_update(
            "product-variations__retrieve-a-product-variation.response",
            "product-variations__batch-update-product-variations.request",
            b,
        ),
    ),
    ("POST", r"/wp-json/wc-shipment-tracking/v3/orders/\d+/shipment-trackings", _tracking),
    ("POST", r"/wp-json/wc/v3/webhooks", _webhook),
    ("PUT", r"/wp-json/wc/v3/webhooks/\d+", _webhook),
    (
        "DELETE",
        r"/wp-json/wc/v3/webhooks/\d+",
        lambda b: [] if b is None else ["$: a DELETE carries no body"],
    ),
]


def _problems(writes: list[LoggedExchange]) -> list[str]:
    problems = []
    for write in writes:
        check = next(
            (c for method, route, c in ROUTES if method == write.method and re.fullmatch(route, write.path)),
            None,
        )
        if check is None:
            problems.append(f"{write.method} {write.path}: no documented route listed")
            continue
        problems += [f"{write.method} {write.path} {p}" for p in check(write.request_json())]
    return problems


def _shipment(
    sid: str, lines: list[tuple[str | None, str | None, int]], number: str, url: str | None = None
) -> Shipment:
    return Shipment(
        shipment_id=sid,
        outbound_id="OB1",
        merchant_outbound_number="WC-1",
        lines=tuple(ShipmentLine(quantity=Decimal(q), line_id=lid, sku=sku) for lid, sku, q in lines),
        trackings=(Tracking(number=number, carrier="DHL", url=url),),
    )


async def _order(shop: Shop) -> tuple[OrderRef, list[str]]:
    created = await shop.order([("A-1", 2), ("B-1", 1)])
    state = await shop.call("GET", f"/_sandbox/orders/{created['id']}")
    return OrderRef(str(created["id"]), created["number"]), [str(i["id"]) for i in state["line_items"]]


async def _every_write(shop: Shop, channel: WooCommerceChannel) -> None:
    await shop.product("A-1")
    await shop.product("B-1")
    await shop.product("TEE-RED", parent_sku="TEE", option="RED")
    ref, (line_a, line_b) = await _order(shop)
    await channel.apply_shipment(ref, _shipment("S1", [(line_a, "A-1", 1)], "00340001"))
    await channel.apply_shipment(
        ref, _shipment("S2", [(None, "A-1", 1), (line_b, "B-1", 1)], "00340002", "https://t.example/2")
    )
    other, _ = await _order(shop)
    cancelled = FulfillerStatus("OB2", "WC-2", OutboundStatus.CANCELED, cancel_reason="damaged")
    await channel.apply_order_status(other, cancelled, cancel_in_shop=True)
    await channel.set_stock([ShopStock("A-1", 3), ShopStock("TEE-RED", -2)])


async def test_every_write_uses_documented_fields_with_documented_types(
    shop: Shop, channel: WooCommerceChannel
) -> None:
    await _every_write(shop, channel)
    hooks = Webhooks(channel)
    prefix = "https://hooks.example.com/webhooks/acme/woo"
    topics = hooks.topics((WebhookFlow.ORDERS, WebhookFlow.PRODUCTS))
    first = WebhookCredentials(secrets=(Secret("first-secret-0123456789"),))
    await hooks.register(prefix, topics, first, address_prefix=prefix)
    rotated = WebhookCredentials(
        secrets=(Secret("second-secret-0123456789"), Secret("first-secret-0123456789"))
    )
    await hooks.register(f"{prefix}/v2", topics[:1], rotated, address_prefix=prefix)

    writes = shop.writes()
    kinds = {(w.method, re.sub(r"/\d+", "/N", w.path)) for w in writes}
    # The scenario reached every kind of write the adapter makes (else the check proves less than it says).
    assert {
        ("POST", "/wp-json/wc/v3/orders/N"),
        ("POST", "/wp-json/wc/v3/orders/N/notes"),
        ("POST", "/wp-json/wc/v3/products/batch"),
        ("POST", "/wp-json/wc/v3/products/N/variations/batch"),
        ("POST", "/wp-json/wc-shipment-tracking/v3/orders/N/shipment-trackings"),
        ("POST", "/wp-json/wc/v3/webhooks"),
        ("PUT", "/wp-json/wc/v3/webhooks/N"),
        ("DELETE", "/wp-json/wc/v3/webhooks/N"),
    } <= kinds, kinds
    assert _problems(writes) == []


async def test_without_the_tracking_extension_the_fallback_writes_are_documented_too(
    make_shop: ShopFactory, make_channel: ChannelFactory
) -> None:
    shop = await make_shop(shipment_tracking=False)
    await _every_write(shop, make_channel(shop))
    assert not any("shipment-trackings" in w.path for w in shop.writes())
    assert _problems(shop.writes()) == []


def test_the_check_catches_a_misspelt_or_mistyped_field() -> None:
    def write(method: str, path: str, body: Any) -> LoggedExchange:
        return LoggedExchange(0, method, path, "", {}, orjson.dumps(body), 200, {}, b"", False)

    assert _problems(
        [
            write("POST", "/wp-json/wc/v3/products/batch", {"update": [{"id": 1, "stock": 3}]}),
            write(
                "POST",
                "/wp-json/wc/v3/products/batch",
                {"update": [{"id": 1, "stock_quantity": "3", "manage_stock": True}]},
            ),
            write(
                "POST",
                "/wp-json/wc/v3/orders/7",
                {"status": "completed", "meta_data": [{"key": "k", "value": [1], "id": "x"}]},
            ),
            write(
                "POST",
                "/wp-json/wc-shipment-tracking/v3/orders/7/shipment-trackings",
                {"tracking_number": "1", "date_shipped": "2026-03-01T10:00:00Z"},
            ),
            write("POST", "/wp-json/wc/v3/orders/7/refunds", {"amount": "1.00"}),
        ]
    ) == [
        "POST /wp-json/wc/v3/products/batch $.update[].stock: not in the example",
        "POST /wp-json/wc/v3/products/batch $.update[].stock_quantity: string, example has number",
        "POST /wp-json/wc/v3/orders/7 $.meta_data[].id: string, example has number",
        "POST /wp-json/wc-shipment-tracking/v3/orders/7/shipment-trackings $.date_shipped: not YYYY-MM-DD",
        "POST /wp-json/wc/v3/orders/7/refunds: no documented route listed",
    ]
