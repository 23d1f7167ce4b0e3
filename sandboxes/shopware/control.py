"""The shop control API shared by all shop sandboxes (DESIGN.md, "control API")."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from sandboxes.kit.kit import json_response
from sandboxes.shopware.criteria import render
from sandboxes.shopware.orders import cancel_order, change_order, create_order
from sandboxes.shopware.shop import SHOP_KEY, Shop
from sandboxes.shopware.world import WorldError

# Everything a merchant sees on an order page.
FULL_ORDER: dict[str, Any] = {
    "associations": {
        "lineItems": {},
        "deliveries": {
            "associations": {
                "shippingOrderAddress": {"associations": {"country": {}, "countryState": {}}},
                "shippingMethod": {},
                "stateMachineState": {},
            }
        },
        "transactions": {"associations": {"stateMachineState": {}, "paymentMethod": {}}},
        "orderCustomer": {},
        "stateMachineState": {},
        "currency": {},
        "tags": {},
    }
}


def _shop(request: web.Request) -> Shop:
    return request.app[SHOP_KEY]


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        body = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError as exc:
        raise WorldError(f"body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise WorldError("body must be a JSON object")
    return body


def _bad(exc: Exception) -> web.Response:
    return json_response({"error": str(exc)}, status=400)


async def add_product(request: web.Request) -> web.Response:
    try:
        row = _shop(request).world.add_product(await _body(request))
    except WorldError as exc:
        return _bad(exc)
    return json_response({"id": row["id"], "sku": row["productNumber"]}, status=201)


async def change_product(request: web.Request) -> web.Response:
    sku = request.match_info["sku"]
    try:
        row = _shop(request).world.change_product(sku, await _body(request))
    except KeyError:
        return json_response({"error": f"no product with sku {sku!r}"}, status=404)
    except WorldError as exc:
        return _bad(exc)
    return json_response({"id": row["id"], "sku": sku})


async def add_order(request: web.Request) -> web.Response:
    try:
        order = create_order(_shop(request).world, await _body(request))
    except (WorldError, ValueError, TypeError) as exc:
        return _bad(exc)
    return json_response({"id": order["id"], "number": order["orderNumber"]}, status=201)


def _order_or_404(request: web.Request) -> dict[str, Any] | web.Response:
    order = _shop(request).store.get("order", request.match_info["id"])
    if order is None:
        return json_response({"error": f"no order with id {request.match_info['id']!r}"}, status=404)
    return order


async def change(request: web.Request) -> web.Response:
    order = _order_or_404(request)
    if isinstance(order, web.Response):
        return order
    try:
        change_order(_shop(request).world, order, await _body(request))
    except (WorldError, ValueError, TypeError) as exc:
        return _bad(exc)
    return json_response({"id": order["id"], "number": order["orderNumber"]})


async def cancel(request: web.Request) -> web.Response:
    order = _order_or_404(request)
    if isinstance(order, web.Response):
        return order
    cancel_order(_shop(request).world, order)
    return json_response({"id": order["id"], "number": order["orderNumber"], "cancelled": True})


async def show(request: web.Request) -> web.Response:
    order = _order_or_404(request)
    if isinstance(order, web.Response):
        return order
    shop = _shop(request)
    return json_response(render(shop.store, "order", order, FULL_ORDER))


async def stock(request: web.Request) -> web.Response:
    return json_response(_shop(request).world.stock())


async def expire_tokens(request: web.Request) -> web.Response:
    _shop(request).tokens.expire_all()
    return json_response({"expired": True})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/_sandbox/products", add_product)
    app.router.add_patch("/_sandbox/products/{sku}", change_product)
    app.router.add_post("/_sandbox/orders", add_order)
    app.router.add_patch("/_sandbox/orders/{id}", change)
    app.router.add_post("/_sandbox/orders/{id}/cancel", cancel)
    app.router.add_get("/_sandbox/orders/{id}", show)
    app.router.add_get("/_sandbox/stock", stock)
    app.router.add_post("/_sandbox/tokens/expire", expire_tokens)
