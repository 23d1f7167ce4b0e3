"""Admin API write routes: PATCH of the few fields the connector writes, tag creation, state
transitions (``/_action/{entity}/{id}/state/{transition}``) and the bulk ``/_action/sync``."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from sandboxes.kit.kit import json_response
from sandboxes.shopware import states
from sandboxes.shopware.api_read import admin_route, not_found, read_json, shop_of
from sandboxes.shopware.criteria import render
from sandboxes.shopware.errors import error_item, error_response
from sandboxes.shopware.orders import restore_stock
from sandboxes.shopware.shop import Shop
from sandboxes.shopware.store import SEARCHABLE, Row

HEX32 = re.compile(r"^[0-9a-f]{32}$")
# entity -> fields this sandbox lets a client write (a real shop allows far more)
WRITABLE: dict[str, set[str]] = {
    "order_delivery": {"trackingCodes", "customFields"},
    "order": {"tags", "customerComment", "internalComment", "customFields"},
    "product": {"stock", "active", "ean", "name", "customFields"},
    "webhook": {"name", "eventName", "url", "active", "onlyLiveVersion"},
}
PRODUCT_REQUIRED_ON_CREATE = ("productNumber", "stock", "name", "taxId", "price")
NOT_BLANK = "c1051bb4-d103-4f74-8988-acbcafc7fdc3"  # Symfony NotBlank, as Shopware reports it


def _field_problem(shop: Shop, entity: str, row: Row, key: str, value: Any) -> str | None:
    if key not in row and key not in ("tags",):
        return f'Field "{key}" in entity "{entity}" was not found.'
    if key not in WRITABLE.get(entity, set()):
        return f'the sandbox does not support writing "{key}" of "{entity}"'
    if key == "trackingCodes" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        return "trackingCodes must be a list of strings"
    if key == "stock" and (not isinstance(value, int) or isinstance(value, bool)):
        return "stock must be an integer"
    if key == "tags" and not (isinstance(value, list) and all(isinstance(t, dict) for t in value)):
        return "tags must be a list of objects with an id and/or name"
    return None


def _write(shop: Shop, entity: str, row: Row, body: dict[str, Any]) -> None:
    for key, value in body.items():
        if key == "tags":
            for tag in value:
                existing = shop.store.get("tag", tag.get("id"))
                target = existing or shop.world.tag(str(tag.get("name")))
                shop.store.link("order_tag", row["id"], target["id"])
        else:
            row[key] = value
        if entity == "product" and key == "stock":
            row["availableStock"] = value
    row["updatedAt"] = shop.world.now()
    if entity in ("product", "order"):
        shop.world.event(f"{entity}.written", row, [*body, "updatedAt"])


def _detail_or_empty(request: web.Request, shop: Shop, entity: str, row: Row) -> web.Response:
    # Without ``_response`` a shop answers 204; the connector always asks for the entity back.
    if "_response" in request.query:
        return json_response({"data": render(shop.store, entity, row, {})})
    return web.Response(status=204)


@admin_route
async def patch(request: web.Request) -> web.Response:
    entity = SEARCHABLE.get(request.match_info["entity"])
    shop = shop_of(request)
    row = shop.store.get(entity, request.match_info["id"]) if entity else None
    if entity is None or row is None:
        return not_found(request)
    body = await read_json(request)
    if not isinstance(body, dict):
        return error_response(400, "FRAMEWORK__INVALID_REQUEST", "the body must be a JSON object")
    for key, value in body.items():
        problem = _field_problem(shop, entity, row, key, value)
        if problem is not None:
            return error_response(400, "FRAMEWORK__WRITE_CONSTRAINT_VIOLATION", problem, pointer=f"/{key}")
    _write(shop, entity, row, body)
    return _detail_or_empty(request, shop, entity, row)


@admin_route
async def create_tag(request: web.Request) -> web.Response:
    shop = shop_of(request)
    body = await read_json(request)
    if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"]:
        return error_response(400, NOT_BLANK, "This value should not be blank.", pointer="/name")
    tag_id = body.get("id") or shop.world.tag(body["name"])["id"]
    if not HEX32.match(str(tag_id)):
        return error_response(
            400, "FRAMEWORK__INVALID_UUID", f"Value is not a valid UUID: {tag_id}", pointer="/id"
        )
    row = shop.store.get("tag", tag_id) or shop.store.insert(
        "tag", {"id": tag_id, "name": body["name"], "createdAt": shop.world.now()}
    )
    return _detail_or_empty(request, shop, "tag", row)


@admin_route
async def transition(request: web.Request) -> web.Response:
    entity = request.match_info["entity"]
    shop = shop_of(request)
    machine = states.MACHINE_OF_ENTITY.get(entity)
    row = shop.store.get(entity, request.match_info["id"]) if machine else None
    if machine is None or row is None:
        return error_response(
            400,
            "SYSTEM__STATE_MACHINE_INVALID_ENTITY_ID",
            f'Unable to read entity "{entity}" with id "{request.match_info["id"]}".',
        )
    body = await read_json(request) or {}
    action = request.match_info["transition"]
    try:
        state = states.apply(shop.store, machine, row, action)
    except states.IllegalTransition as exc:
        return error_response(400, "SYSTEM__ILLEGAL_STATE_TRANSITION", str(exc))
    row["updatedAt"] = shop.world.now()
    if entity == "order" and action == "cancel":
        restore_stock(shop.world, row)
    order = row if entity == "order" else shop.store.get("order", row.get("orderId"))
    if entity == "order":
        shop.world.event("order.written", row, ["stateId", "updatedAt"])
    if order is not None:
        shop.world.event(f"state_enter.{entity}.state.{state['technicalName']}", order)
    shop.history.append(
        {
            "entity": entity,
            "id": row["id"],
            "transition": action,
            "internalComment": body.get("internalComment"),
            # Shopware mails the customer unless the caller sends sendMail: false.
            "sendMail": body.get("sendMail", True) is not False,
        }
    )
    return json_response({"data": render(shop.store, "state_machine_state", state, {})})


def _operations(body: Any) -> list[tuple[str, dict[str, Any]]] | None:
    """The spec's array form, or the keyed object form the docs show."""
    if isinstance(body, list):
        return [(str(i), op) for i, op in enumerate(body) if isinstance(op, dict)]
    if isinstance(body, dict):
        return [(str(key), op) for key, op in body.items() if isinstance(op, dict)]
    return None


def _sync_errors(shop: Shop, ops: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    for key, op in ops:
        if op.get("entity") != "product" or op.get("action") != "upsert":
            errors.append(
                error_item(400, "SANDBOX__UNSUPPORTED_SYNC", "only product upserts are supported", f"/{key}")
            )
            continue
        for index, item in enumerate(op.get("payload") or []):
            row = shop.store.get("product", item.get("id"))
            if row is None:
                # An upsert of an unknown id is a create, which needs the required fields.
                errors.extend(
                    error_item(400, NOT_BLANK, "This value should not be blank.", f"/{key}/{index}/{field}")
                    for field in PRODUCT_REQUIRED_ON_CREATE
                    if item.get(field) is None
                )
                continue
            for field, value in item.items():
                problem = None if field == "id" else _field_problem(shop, "product", row, field, value)
                if problem is not None:
                    errors.append(
                        error_item(
                            400, "FRAMEWORK__WRITE_CONSTRAINT_VIOLATION", problem, f"/{key}/{index}/{field}"
                        )
                    )
    return errors


@admin_route
async def sync(request: web.Request) -> web.Response:
    shop = shop_of(request)
    ops = _operations(await read_json(request))
    if ops is None:
        return error_response(
            400, "FRAMEWORK__INVALID_SYNC_OPERATION", "the body must be a list of operations"
        )
    errors = _sync_errors(shop, ops)
    if errors:
        # The whole sync runs in one transaction: one bad row and nothing is written.
        return json_response({"errors": errors}, status=400)
    written: list[str] = []
    for _, op in ops:
        for item in op.get("payload") or []:
            row = shop.store.get("product", item["id"])
            assert row is not None
            _write(shop, "product", row, {k: v for k, v in item.items() if k != "id"})
            written.append(row["id"])
    return json_response({"data": {"product": written}, "notFound": {}, "deleted": {}})
