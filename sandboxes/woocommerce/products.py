"""``/wc/v3/products``, ``/wc/v3/products/{id}/variations`` and their ``batch`` endpoints."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from sandboxes.kit.kit import json_response
from sandboxes.woocommerce.orders import json_body, origin
from sandboxes.woocommerce.query import modified_slice, select
from sandboxes.woocommerce.render import product_json, variation_json
from sandboxes.woocommerce.responses import (
    PageRequest,
    invalid_param,
    list_param,
    trim_fields,
    wc_error,
)
from sandboxes.woocommerce.state import SETTINGS_KEY, STATE_KEY, Product, ShopState

PREFIX = "/wp-json/wc/v3/products"


def _invalid(variation: bool) -> dict[str, Any]:
    code = (
        "woocommerce_rest_product_variation_invalid_id"
        if variation
        else "woocommerce_rest_product_invalid_id"
    )
    return {"code": code, "message": "Invalid ID.", "data": {"status": 404 if variation else 400}}


def apply_product_changes(state: ShopState, product: Product, body: dict[str, Any]) -> str | None:
    """Apply writable fields; returns the name of a bad field instead of raising."""
    if "stock_quantity" in body:
        quantity = body["stock_quantity"]
        if quantity is not None and (isinstance(quantity, bool) or not isinstance(quantity, int | float)):
            return "stock_quantity"
        product.stock_quantity = None if quantity is None else int(quantity)
    if "manage_stock" in body:
        product.manage_stock = bool(body["manage_stock"])
    if isinstance(body.get("sku"), str):
        state.set_sku(product, body["sku"])
    for name in ("name", "weight", "global_unique_id"):
        if isinstance(body.get(name), str):
            setattr(product, name, body[name])
    if "regular_price" in body:
        try:
            product.price = Decimal(str(body["regular_price"]))
        except InvalidOperation:
            return "regular_price"
    if isinstance(body.get("meta_data"), list):
        state.update_meta(product.meta, body["meta_data"])
    state.touch_product(product)
    return None


async def list_products(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    skus = set(list_param(request, "sku"))
    kind = request.query.get("type")
    parents = list_param(request, "parent")

    def keep(product: Product) -> bool:
        # WordPress' SKU lookup searches products and variations alike; listings show products only.
        return (
            (bool(skus) or product.type != "variation")
            and (not kind or product.type == kind)
            and (not parents or str(product.parent_id) in parents)
        )

    rows = [p for p in (state.by_sku(s) for s in skus) if p is not None] if skus else None
    return _respond(request, state, rows, keep, variations=False)


def _respond(
    request: web.Request,
    state: ShopState,
    rows: list[Product] | None,
    keep: Callable[[Product], bool],
    *,
    variations: bool,
) -> web.Response:
    """``rows`` None means the whole catalogue, read through the modified index when possible."""
    try:
        paging = PageRequest(request)
        ids = modified_slice(request, state, state.products_by_modified) if rows is None else None
        if ids is not None:
            selected = [p for p in (state.products[i] for i in ids) if keep(p)]
        else:
            candidates = list(state.products.values()) if rows is None else rows
            selected = select(
                request,
                state,
                [p for p in candidates if keep(p)],
                ident=lambda p: p.id,
                created=lambda p: p.created,
                modified=lambda p: p.modified,
                title=lambda p: p.name,
            )
    except ValueError as exc:
        return invalid_param(str(exc), f"{exc} is not valid.")
    here = origin(request)
    render = variation_json if variations else product_json
    return paging.respond(selected, lambda p: trim_fields(request, render(state, p, here)))


def _product(request: web.Request, key: str) -> Product | None:
    try:
        return request.app[STATE_KEY].products.get(int(request.match_info[key]))
    except ValueError:
        return None


async def get_product(request: web.Request) -> web.Response:
    product = _product(request, "product_id")
    if product is None or product.type == "variation":
        return json_response(_invalid(False), status=404)
    return json_response(product_json(request.app[STATE_KEY], product, origin(request)))


async def update_product(request: web.Request) -> web.Response:
    product = _product(request, "product_id")
    if product is None or product.type == "variation":
        return json_response(_invalid(False), status=400)
    body = await json_body(request)
    if not isinstance(body, dict):
        return wc_error("rest_invalid_json", "Invalid JSON body passed.", 400)
    state = request.app[STATE_KEY]
    bad = apply_product_changes(state, product, body)
    if bad:
        return invalid_param(bad, f"{bad} is not valid.")
    return json_response(product_json(state, product, origin(request)))


async def list_variations(request: web.Request) -> web.Response:
    parent = _product(request, "product_id")
    if parent is None or parent.type == "variation":
        return json_response(_invalid(False), status=404)
    state = request.app[STATE_KEY]
    rows = [state.products[v] for v in parent.variation_ids if v in state.products]
    return _respond(request, state, rows, lambda _: True, variations=True)


async def get_variation(request: web.Request) -> web.Response:
    parent, variation = _product(request, "product_id"), _product(request, "variation_id")
    if parent is None or variation is None or variation.parent_id != parent.id:
        return json_response(_invalid(True), status=404)
    return json_response(variation_json(request.app[STATE_KEY], variation, origin(request)))


async def batch_products(request: web.Request) -> web.Response:
    return await _batch(request, parent=None)


async def batch_variations(request: web.Request) -> web.Response:
    parent = _product(request, "product_id")
    if parent is None or parent.type != "variable":
        return json_response(_invalid(False), status=404)
    return await _batch(request, parent=parent)


async def _batch(request: web.Request, parent: Product | None) -> web.Response:
    body = await json_body(request)
    if not isinstance(body, dict):
        return wc_error("rest_invalid_json", "Invalid JSON body passed.", 400)
    limit = request.app[SETTINGS_KEY].batch_limit
    count = sum(len(body.get(k) or []) for k in ("create", "update", "delete"))
    if count > limit:
        return wc_error(
            "woocommerce_rest_request_entity_too_large",
            f"Unable to accept more than {limit} items for this request.",
            413,
        )
    state, here = request.app[STATE_KEY], origin(request)
    variations = parent is not None

    def render(product: Product) -> dict[str, Any]:
        return variation_json(state, product, here) if variations else product_json(state, product, here)

    def lookup(raw: Any) -> Product | None:
        product = state.products.get(raw) if isinstance(raw, int) else None
        if product is None:
            return None
        if variations:
            return product if parent is not None and product.parent_id == parent.id else None
        return product if product.type != "variation" else None

    out: dict[str, list[dict[str, Any]]] = {}
    if "create" in body:
        out["create"] = [render(_create(state, item, parent)) for item in body["create"] or []]
    if "update" in body:
        out["update"] = []
        for item in body["update"] or []:
            target = lookup(item.get("id") if isinstance(item, dict) else None)
            raw_id = item.get("id", 0) if isinstance(item, dict) else 0
            if target is None:
                out["update"].append({"id": raw_id, "error": _invalid(variations)})
                continue
            bad = apply_product_changes(state, target, item)
            if bad:
                error = {"code": "rest_invalid_param", "message": f"Invalid parameter(s): {bad}"}
                out["update"].append({"id": raw_id, "error": {**error, "data": {"status": 400}}})
            else:
                out["update"].append(render(target))
    if "delete" in body:
        out["delete"] = []
        for raw in body["delete"] or []:
            target = lookup(raw)
            if target is None:
                out["delete"].append({"id": raw, "error": _invalid(variations)})
                continue
            out["delete"].append(render(target))
            state.remove_product(target)
            if parent is not None:
                parent.variation_ids.remove(target.id)
    return json_response(out)


def _create(state: ShopState, item: dict[str, Any], parent: Product | None) -> Product:
    now = state.now()
    product = Product(
        id=state.new_id(),
        name=str(item.get("name") or (parent.name if parent else "Product")),
        type="variation" if parent else str(item.get("type", "simple")),
        sku=str(item.get("sku", "")),
        created=now,
        modified=now,
        parent_id=parent.id if parent else 0,
    )
    state.put_product(product)
    apply_product_changes(state, product, item)
    if parent is not None:
        parent.variation_ids.append(product.id)
    return product


def add_routes(app: web.Application) -> None:
    app.router.add_get(PREFIX, list_products)
    for method in ("POST", "PUT", "PATCH"):
        app.router.add_route(method, PREFIX + "/batch", batch_products)
        app.router.add_route(method, PREFIX + r"/{product_id:\d+}", update_product)
        app.router.add_route(method, PREFIX + r"/{product_id:\d+}/variations/batch", batch_variations)
    app.router.add_get(PREFIX + r"/{product_id:\d+}", get_product)
    app.router.add_get(PREFIX + r"/{product_id:\d+}/variations", list_variations)
    app.router.add_get(PREFIX + r"/{product_id:\d+}/variations/{variation_id:\d+}", get_variation)
