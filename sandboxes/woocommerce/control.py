"""The shared ``/_sandbox/`` control API (DESIGN.md) for scripting a WooCommerce world."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiohttp import web

from sandboxes.kit.kit import json_response
from sandboxes.woocommerce.lifecycle import reduce_stock, refund, restore_stock, trash
from sandboxes.woocommerce.orders import apply_order_changes, json_body, origin
from sandboxes.woocommerce.render import note_json, order_json
from sandboxes.woocommerce.state import STATE_KEY, LineItem, Order, Product, ShopState
from sandboxes.woocommerce.tracking import META_KEY

# Canonical address names accepted besides WooCommerce's own.
_ADDRESS_ALIASES = {
    "street": "address_1",
    "extra_line": "address_2",
    "zip": "postcode",
    "country_code": "country",
}
_ADDRESS_KEYS = ("first_name", "last_name", "company", "address_1", "address_2", "city", "state", "postcode")
EAN_META_KEY: web.AppKey[str] = web.AppKey("wc_ean_meta_key", str)


def _bad(message: str) -> web.Response:
    return json_response({"error": message}, status=400)


def add_product(state: ShopState, body: dict[str, Any], ean_meta_key: str) -> Product:
    now = state.now()
    parent: Product | None = None
    if body.get("parent_sku"):
        parent = state.by_sku(str(body["parent_sku"]))
        if parent is None:
            parent = Product(
                id=state.new_id(),
                name=str(body.get("parent_name") or body["parent_sku"]),
                type="variable",
                sku=str(body["parent_sku"]),
                created=now,
                modified=now,
            )
            state.put_product(parent)
    weight = body.get("weight", body.get("weight_kg"))  # in the shop's weight unit
    product = Product(
        id=state.new_id(),
        name=str(body.get("name") or body["sku"]),
        type="variation" if parent else "simple",
        sku=str(body["sku"]),
        created=now,
        modified=now,
        parent_id=parent.id if parent else 0,
        price=Decimal(str(body.get("price", "0"))),
        weight="" if weight is None else str(weight),
        virtual=bool(body.get("virtual", False)),
        global_unique_id=str(body.get("ean") or ""),
        option=str(body.get("option") or ""),
        manage_stock="stock" in body,
        stock_quantity=int(body["stock"]) if body.get("stock") is not None else None,
    )
    if body.get("ean") and ean_meta_key:
        state.add_meta(product.meta, ean_meta_key, str(body["ean"]))
    state.put_product(product)
    if parent is not None:
        parent.variation_ids.append(product.id)
    return product


def _address(raw: dict[str, Any]) -> dict[str, str]:
    fields = {_ADDRESS_ALIASES.get(k, k): "" if v is None else str(v) for k, v in raw.items()}
    out = {k: fields.get(k, "") for k in _ADDRESS_KEYS}
    out["country"] = fields.get("country", "DE")
    return out


def _line_items(
    state: ShopState, lines: list[dict[str, Any]], *, virtual: bool, ean_key: str
) -> list[LineItem]:
    items = []
    for line in lines:
        if line.get("sku") is None:
            # A line whose product is gone (or a custom line): WooCommerce keeps it with product_id 0.
            items.append(
                LineItem(
                    id=state.new_id(),
                    product_id=0,
                    variation_id=0,
                    name=str(line.get("name") or "Custom item"),
                    quantity=int(line.get("qty", line.get("quantity", 1))),
                    price=Decimal(str(line.get("price", "0"))),
                )
            )
            continue
        unit = state.by_sku(str(line["sku"])) or add_product(
            state, {"sku": line["sku"], "price": line.get("price", "0"), "virtual": virtual}, ean_key
        )
        parent = state.products.get(unit.parent_id) if unit.parent_id else None
        name = f"{parent.name} - {unit.option or unit.name}" if parent else unit.name
        items.append(
            LineItem(
                id=state.new_id(),
                product_id=parent.id if parent else unit.id,
                variation_id=unit.id if parent else 0,
                name=name,
                quantity=int(line.get("qty", line.get("quantity", 1))),
                price=Decimal(str(line.get("price", unit.price))),
            )
        )
    return items


def _shipping_lines(state: ShopState, method: str, fee: Any) -> list[dict[str, Any]]:
    return [
        {
            "id": state.new_id(),
            "method_title": method,
            "method_id": method.lower().replace(" ", "_"),
            "total": str(Decimal(str(fee)).quantize(Decimal("0.01"))),
            "total_tax": "0.00",
            "taxes": [],
            "meta_data": [],
        }
    ]


async def post_product(request: web.Request) -> web.Response:
    body = await json_body(request)
    if not isinstance(body, dict) or not body.get("sku"):
        return _bad("body must be an object with at least 'sku'")
    state = request.app[STATE_KEY]
    if state.by_sku(str(body["sku"])) is not None:
        return _bad(f"SKU {body['sku']!r} exists already")
    product = add_product(state, body, request.app[EAN_META_KEY])
    return json_response({"id": product.id, "parent_id": product.parent_id}, status=201)


async def patch_product(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    product = state.by_sku(request.match_info["sku"])
    body = await json_body(request)
    if product is None or not isinstance(body, dict):
        return json_response({"error": "unknown SKU or bad body"}, status=404)
    if "sku" in body:
        state.set_sku(product, str(body["sku"] or ""))
    for key, attr in (("name", "name"), ("ean", "global_unique_id")):
        if key in body:
            setattr(product, attr, str(body[key] or ""))
    if "price" in body:
        product.price = Decimal(str(body["price"]))
    state.touch_product(product)
    return json_response({"id": product.id})


async def delete_product(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    product = state.by_sku(request.match_info["sku"])
    if product is None:
        return json_response({"error": "unknown SKU"}, status=404)
    state.remove_product(product)
    return json_response({"deleted": product.id})


async def post_order(request: web.Request) -> web.Response:
    body = await json_body(request)
    if not isinstance(body, dict) or not (body.get("lines") or body.get("digital_lines")):
        return _bad("body must be an object with 'lines' (and/or 'digital_lines')")
    state = request.app[STATE_KEY]
    ean_key = request.app[EAN_META_KEY]
    now = state.now()
    order_id = state.new_id()
    address = _address(body.get("address") or {})
    paid = bool(body.get("paid", True))
    order = Order(
        id=order_id,
        number=str(body.get("number") or order_id),
        status=str(body.get("status") or ("processing" if paid else "pending")),
        created=now,
        modified=now,
        currency=str(body.get("currency", "EUR")),
        billing={**address, "email": str(body.get("email", "buyer@example.com")), "phone": ""},
        shipping={**address, "phone": str((body.get("address") or {}).get("phone") or "")},
        paid=now if paid else None,
        customer_note=str(body.get("note") or ""),
        line_items=_line_items(state, body.get("lines") or [], virtual=False, ean_key=ean_key)
        + _line_items(state, body.get("digital_lines") or [], virtual=True, ean_key=ean_key),
        shipping_lines=_shipping_lines(
            state, str(body.get("shipping_method", "Flat Rate")), body.get("shipping_fee", 0)
        ),
    )
    if body.get("tags"):
        state.add_meta(order.meta, "ffn_tags", ",".join(str(t) for t in body["tags"]))
    if order.status in ("processing", "completed", "on-hold"):
        reduce_stock(state, order)  # checkout: payment_complete / the gateway's on-hold
    state.put_order(order)
    return json_response({"id": order.id, "number": order.number}, status=201)


def _order(request: web.Request) -> Order | None:
    return request.app[STATE_KEY].orders.get(int(request.match_info["order_id"]))


async def patch_order(request: web.Request) -> web.Response:
    order, body = _order(request), await json_body(request)
    if order is None or not isinstance(body, dict):
        return json_response({"error": "unknown order or bad body"}, status=404)
    state = request.app[STATE_KEY]
    if "lines" in body:
        # An admin edit of a paid order adjusts the stock its lines hold (wc_maybe_adjust_line_item_product_stock).
        held = bool(order.reduced_stock)
        restore_stock(state, order)
        order.line_items = _line_items(state, body["lines"], virtual=False, ean_key=request.app[EAN_META_KEY])
        if held:
            reduce_stock(state, order)
    if isinstance(body.get("address"), dict):
        order.shipping.update(_address({**order.shipping, **body["address"]}))
    if body.get("paid") and order.paid is None:
        body = {**body, "set_paid": True}
    apply_order_changes(
        state, order, {k: v for k, v in body.items() if k in ("status", "set_paid", "customer_note")}
    )
    return json_response({"id": order.id, "number": order.number})


async def cancel_order(request: web.Request) -> web.Response:
    order = _order(request)
    if order is None:
        return json_response({"error": "unknown order"}, status=404)
    apply_order_changes(request.app[STATE_KEY], order, {"status": "cancelled"})
    return json_response({"id": order.id, "status": order.status})


async def refund_order(request: web.Request) -> web.Response:
    """``{lines: [{sku, qty}], restock, reason}``: one refund record (``wc_create_refund``)."""
    order, body = _order(request), await json_body(request)
    if order is None or not isinstance(body, dict) or not isinstance(body.get("lines"), list):
        return json_response(
            {"error": "unknown order, or no 'lines' list"}, status=404 if order is None else 400
        )
    try:
        lines = [(str(line["sku"]), int(line.get("qty", line.get("quantity", 1)))) for line in body["lines"]]
        record = refund(
            request.app[STATE_KEY],
            order,
            lines,
            restock=bool(body.get("restock", False)),
            reason=str(body.get("reason") or ""),
        )
    except (KeyError, TypeError, ValueError) as exc:
        return _bad(f"cannot refund: {exc}")
    return json_response({"id": record.id, "amount": str(record.amount), "status": order.status}, status=201)


async def trash_order(request: web.Request) -> web.Response:
    order = _order(request)
    if order is None:
        return json_response({"error": "unknown order"}, status=404)
    trash(request.app[STATE_KEY], order)
    return json_response({"id": order.id, "status": order.status})


async def touch_order(request: web.Request) -> web.Response:
    """What opening an order in wp-admin does under HPOS: a new modified date, nothing else."""
    order = _order(request)
    if order is None:
        return json_response({"error": "unknown order"}, status=404)
    request.app[STATE_KEY].touch_order(order)
    return json_response({"id": order.id})


async def get_order(request: web.Request) -> web.Response:
    order = _order(request)
    if order is None:
        return json_response({"error": "unknown order"}, status=404)
    state, here = request.app[STATE_KEY], origin(request)
    body = order_json(state, order, here)
    body["tracking_items"] = state.order_meta(order, META_KEY) or []
    body["notes"] = [note_json(state, order, n, here) for n in order.notes]
    return json_response(body)


async def get_stock(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    return json_response(
        {
            p.sku: (p.stock_quantity if p.manage_stock else None)
            for p in state.products.values()
            if p.sku and p.type != "variable"
        }
    )


def add_routes(app: web.Application) -> None:
    app.router.add_post("/_sandbox/products", post_product)
    app.router.add_patch("/_sandbox/products/{sku}", patch_product)
    app.router.add_delete("/_sandbox/products/{sku}", delete_product)
    app.router.add_post("/_sandbox/orders", post_order)
    order = r"/_sandbox/orders/{order_id:\d+}"
    app.router.add_patch(order, patch_order)
    app.router.add_get(order, get_order)
    app.router.add_delete(order, trash_order)
    app.router.add_post(order + "/cancel", cancel_order)
    app.router.add_post(order + "/refund", refund_order)
    app.router.add_post(order + "/touch", touch_order)
    app.router.add_get("/_sandbox/stock", get_stock)
