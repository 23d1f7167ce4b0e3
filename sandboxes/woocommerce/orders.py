"""``/wc/v3/orders`` and ``/wc/v3/orders/{id}/notes``."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from sandboxes.kit.kit import json_response
from sandboxes.kit.tenants import mount
from sandboxes.woocommerce.lifecycle import reduce_stock, set_status, trash
from sandboxes.woocommerce.query import modified_slice, select
from sandboxes.woocommerce.render import note_json, order_json, refund_json
from sandboxes.woocommerce.responses import (
    PageRequest,
    invalid_param,
    list_param,
    trim_fields,
    wc_error,
)
from sandboxes.woocommerce.state import STATE_KEY, Note, Order, ShopState

STATUSES = frozenset(
    {"pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed", "checkout-draft"}
)
PREFIX = "/wp-json/wc/v3/orders"


def origin(request: web.Request) -> str:
    """Where the site lives, as the client called it (a shop in a subdirectory keeps its path)."""
    return f"{request.url.scheme}://{request.url.host}:{request.url.port}{mount(request)}"


def find_order(request: web.Request) -> Order | None:
    state = request.app[STATE_KEY]
    try:
        return state.orders.get(int(request.match_info["order_id"]))
    except ValueError:
        return None


def invalid_order() -> web.Response:
    return wc_error("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", 404)


async def json_body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


async def list_orders(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    try:
        paging = PageRequest(request)
        named = list_param(request, "status") or ["any"]
        if set(named) - STATUSES - {"any", "trash"}:
            raise ValueError("status")
        # As prepare_objects_query does: "any" replaces every status named with it, the trash included.
        statuses = {"any"} if "any" in named else set(named)
        ids = modified_slice(request, state, state.orders_by_modified)
        rows = [state.orders[i] for i in ids] if ids is not None else None
        if rows is None:
            rows = select(
                request,
                state,
                list(state.orders.values()),
                ident=lambda o: o.id,
                created=lambda o: o.created,
                modified=lambda o: o.modified,
                title=lambda o: o.number,
            )
    except ValueError as exc:
        return invalid_param(str(exc), f"{exc} is not valid.")
    if "any" not in statuses:
        rows = [o for o in rows if o.status in statuses]
    else:
        # WP_Query's "any" leaves out statuses excluded from search: the trash.
        rows = [o for o in rows if o.status != "trash"]
    here = origin(request)
    return paging.respond(rows, lambda o: trim_fields(request, order_json(state, o, here)))


async def get_order(request: web.Request) -> web.Response:
    order = find_order(request)
    if order is None:
        return invalid_order()
    return json_response(trim_fields(request, order_json(request.app[STATE_KEY], order, origin(request))))


async def update_order(request: web.Request) -> web.Response:
    order = find_order(request)
    if order is None:
        return invalid_order()
    body = await json_body(request)
    if not isinstance(body, dict):
        return wc_error("rest_invalid_json", "Invalid JSON body passed.", 400)
    state = request.app[STATE_KEY]
    status = body.get("status")
    if status is not None and status not in STATUSES:
        return invalid_param("status", f"status is not one of {', '.join(sorted(STATUSES))}.")
    meta = body.get("meta_data")
    if meta is not None and not (isinstance(meta, list) and all(isinstance(m, dict) for m in meta)):
        return invalid_param("meta_data", "meta_data is not of type array.")
    apply_order_changes(state, order, body)
    return json_response(order_json(state, order, origin(request)))


def apply_order_changes(state: ShopState, order: Order, body: dict[str, Any]) -> None:
    for address in ("billing", "shipping"):
        if isinstance(body.get(address), dict):
            getattr(order, address).update(body[address])
    if isinstance(body.get("customer_note"), str):
        order.customer_note = body["customer_note"]
    if body.get("meta_data"):
        state.update_meta(order.meta, body["meta_data"])
    # WooCommerce applies the status after every other field, then runs payment_complete.
    status = body.get("status")
    if status is not None:
        set_status(state, order, str(status))
    if body.get("set_paid") and order.paid is None:
        order.paid = state.now()
        if order.status in ("pending", "failed", "on-hold", "checkout-draft"):
            set_status(state, order, "processing")
        reduce_stock(state, order)
    state.touch_order(order)


async def delete_order(request: web.Request) -> web.Response:
    """Without ``force`` the order goes to the trash (a second delete is 410); ``force=true`` deletes."""
    order = find_order(request)
    if order is None:
        return invalid_order()
    state, here = request.app[STATE_KEY], origin(request)
    if request.query.get("force", "false").lower() in ("1", "true"):
        body = order_json(state, order, here)
        del state.orders[order.id]
        state.orders_by_modified.remove((order.modified, order.id))
        return json_response(body)
    if order.status == "trash":
        return wc_error(
            "woocommerce_rest_already_trashed", f"The order with ID {order.id} has already been deleted.", 410
        )
    trash(state, order)
    return json_response(order_json(state, order, here))


async def list_refunds(request: web.Request) -> web.Response:
    order = find_order(request)
    if order is None:
        return invalid_order()
    state, here = request.app[STATE_KEY], origin(request)
    return json_response([refund_json(state, order, r, here) for r in reversed(order.refunds)])


async def list_notes(request: web.Request) -> web.Response:
    order = find_order(request)
    if order is None:
        return invalid_order()
    kind = request.query.get("type", "any")
    if kind not in ("any", "customer", "internal"):
        return invalid_param("type", "type is not one of any, customer, internal.")
    notes = [n for n in order.notes if kind == "any" or n.customer_note == (kind == "customer")]
    state, here = request.app[STATE_KEY], origin(request)
    return json_response([note_json(state, order, n, here) for n in reversed(notes)])


async def create_note(request: web.Request) -> web.Response:
    order = find_order(request)
    if order is None:
        return invalid_order()
    body = await json_body(request)
    if not isinstance(body, dict) or not isinstance(body.get("note"), str) or not body["note"].strip():
        return wc_error("woocommerce_rest_missing_note", "Order note content is required.", 400)
    state = request.app[STATE_KEY]
    note = Note(
        id=state.new_id(),
        note=body["note"],
        customer_note=bool(body.get("customer_note", False)),
        created=state.now(),
        author="admin" if body.get("added_by_user") else "system",
    )
    order.notes.append(note)
    return json_response(note_json(state, order, note, origin(request)), status=201)


def add_routes(app: web.Application) -> None:
    app.router.add_get(PREFIX, list_orders)
    item = PREFIX + r"/{order_id:\d+}"
    app.router.add_get(item, get_order)
    for method in ("PUT", "POST", "PATCH"):
        app.router.add_route(method, item, update_order)
    app.router.add_delete(item, delete_order)
    app.router.add_get(item + "/refunds", list_refunds)
    app.router.add_get(item + "/notes", list_notes)
    app.router.add_post(item + "/notes", create_note)
