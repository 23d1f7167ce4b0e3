"""Admin API read routes: token, version, ``/search/{entity}``, ``GET /{entity}/{id}``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

import orjson
from aiohttp import web

from sandboxes.kit.kit import json_response
from sandboxes.shopware.criteria import CriteriaError, render, select
from sandboxes.shopware.errors import error_response, unauthorized
from sandboxes.shopware.shop import SHOP_KEY, Shop
from sandboxes.shopware.store import SEARCHABLE

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def shop_of(request: web.Request) -> Shop:
    return request.app[SHOP_KEY]


def admin_route(handler: Handler) -> Handler:
    """Bearer token and ``Accept: application/json`` checks shared by every Admin API route."""

    @wraps(handler)
    async def checked(request: web.Request) -> web.StreamResponse:
        problem = shop_of(request).tokens.check(request.headers.get("Authorization"))
        if problem is not None:
            return unauthorized(problem)
        accept = request.headers.get("Accept", "")
        if "application/json" not in accept:
            # A real shop would answer in JSON:API; this sandbox only speaks the simple format.
            return error_response(
                400, "SANDBOX__JSONAPI_NOT_SUPPORTED", "send 'Accept: application/json' (not JSON:API)"
            )
        return await handler(request)

    return checked


async def read_json(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise web.HTTPBadRequest(
            body=orjson.dumps(
                {
                    "errors": [
                        {
                            "status": "400",
                            "code": "FRAMEWORK__INVALID_JSON",
                            "title": "Bad Request",
                            "detail": "The request body is not valid JSON.",
                        }
                    ]
                }
            ),
            content_type="application/json",
        ) from None


async def token(request: web.Request) -> web.Response:
    body = await read_json(request)
    if not isinstance(body, dict) or body.get("grant_type") != "client_credentials":
        return error_response(
            400, "1", "The authorization grant type is not supported by the authorization server."
        )
    shop = shop_of(request)
    issued = shop.tokens.issue(body.get("client_id"), body.get("client_secret"))
    if issued is None:
        return error_response(401, "4", "Client authentication failed")
    return json_response({"token_type": "Bearer", "expires_in": shop.tokens.ttl_s, "access_token": issued})


@admin_route
async def version(request: web.Request) -> web.Response:
    return json_response({"version": shop_of(request).version})


def _entity(request: web.Request) -> str | None:
    return SEARCHABLE.get(request.match_info["entity"])


@admin_route
async def search(request: web.Request) -> web.Response:
    entity = _entity(request)
    if entity is None:
        return error_response(
            404, "FRAMEWORK__DEFINITION_NOT_FOUND", f"unknown entity {request.match_info['entity']}"
        )
    criteria = await read_json(request) or {}
    if not isinstance(criteria, dict):
        return error_response(400, "FRAMEWORK__INVALID_CRITERIA", "the Criteria body must be a JSON object")
    shop = shop_of(request)
    inherit = request.headers.get("sw-inheritance") in ("1", "true")
    try:
        rows = select(shop.store, entity, list(shop.store.rows(entity)), criteria)
        data = [render(shop.store, entity, row, criteria, inherit) for row in rows]
    except CriteriaError as exc:
        return error_response(400, exc.code, exc.detail)
    return json_response({"total": len(data), "data": data, "aggregations": []})


@admin_route
async def detail(request: web.Request) -> web.Response:
    entity = _entity(request)
    shop = shop_of(request)
    row = shop.store.get(entity, request.match_info["id"]) if entity else None
    if entity is None or row is None:
        return not_found(request)
    inherit = request.headers.get("sw-inheritance") in ("1", "true")
    return json_response({"data": render(shop.store, entity, row, {}, inherit)})


def not_found(request: web.Request) -> web.Response:
    entity = request.match_info.get("entity", "entity")
    return error_response(
        404,
        "FRAMEWORK__ENTITY_NOT_FOUND",
        f'Could not find entity "{entity}" with id "{request.match_info.get("id")}"',
    )
