"""The FFN part of the control API (``/_sandbox/``): script the fulfiller, stock and the OAuth server."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
from aiohttp import web

from sandboxes.ffn.autopilot import Autopilot
from sandboxes.ffn.oauth import MERCHANT_ID_PATTERN, Client, OAuthServer
from sandboxes.ffn.outbound_logic import set_status
from sandboxes.ffn.respond import FfnError, dumps
from sandboxes.ffn.shipping import ShipError, ship
from sandboxes.ffn.stock import set_level
from sandboxes.ffn.world import WAREHOUSE_ID, World


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=dumps(data), status=status, content_type="application/json")


def _bad(message: str) -> web.Response:
    return _json({"error": message}, status=400)


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.read() or b"{}")
    except orjson.JSONDecodeError as exc:
        raise web.HTTPBadRequest(text=f"body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="body must be a JSON object")
    return body


def routes(world: World, pilot: Autopilot, oauth: OAuthServer) -> list[web.RouteDef]:
    def outbound(request: web.Request) -> dict[str, Any]:
        doc = world.find_outbound(request.match_info["id"])
        if doc is None:
            raise web.HTTPNotFound(text=f"no outbound {request.match_info['id']!r}")
        return doc

    async def list_outbounds(request: web.Request) -> web.Response:
        return _json(list(world.outbounds.values()))

    async def list_products(request: web.Request) -> web.Response:
        return _json(list(world.products.values()))

    async def list_notifications(request: web.Request) -> web.Response:
        return _json(world.notifications)

    async def post_ship(request: web.Request) -> web.Response:
        doc = outbound(request)
        body = await _body(request)
        tracking = body.get("tracking", True)
        if not isinstance(tracking, (bool, list)):
            return _bad("tracking must be true, false or a list of tracking numbers")
        try:
            notification = ship(
                world,
                doc,
                lines=body.get("lines"),
                packages=int(body.get("packages", 1)),
                tracking=tracking,
                shipping_method_id=body.get("shipping_method_id"),
            )
        except (ShipError, InvalidOperation, ValueError) as exc:
            return _bad(str(exc))
        return _json(notification, status=201)

    async def post_status(request: web.Request) -> web.Response:
        doc = outbound(request)
        body = await _body(request)
        try:
            set_status(world, doc, str(body.get("status")), body.get("reason"), by_merchant=False)
        except FfnError as exc:
            return _bad(exc.message)
        return _json(doc)

    async def put_stock(request: web.Request) -> web.Response:
        key = request.match_info["sku"]
        product = world.products.get(key) or world.product_by_sku(key)
        if product is None:
            raise web.HTTPNotFound(text=f"no product with jfsku or merchantSku {key!r}")
        body = await _body(request)
        try:
            level = Decimal(str(body["level"]))
            reserved = Decimal(str(body["reserved"])) if body.get("reserved") is not None else None
            blocked = Decimal(str(body["blocked"])) if body.get("blocked") is not None else None
        except (KeyError, InvalidOperation):
            return _bad(
                "body must be {level: number, reserved?: number, blocked?: number, warehouse_id?: string}"
            )
        warehouse = str(body.get("warehouse_id", WAREHOUSE_ID))
        set_level(world, product["jfsku"], warehouse, level, reserved=reserved, blocked=blocked)
        slot = world.slot(product["jfsku"], warehouse)
        return _json(
            {
                "jfsku": product["jfsku"],
                "merchantSku": product["merchantSku"],
                "level": slot.level,
                "reserved": slot.reserved,
                "blocked": slot.blocked,
            }
        )

    async def put_autopilot(request: web.Request) -> web.Response:
        try:
            pilot.configure(await _body(request))
        except (TypeError, ValueError) as exc:
            return _bad(str(exc))
        return _json(pilot.as_dict())

    async def put_knobs(request: web.Request) -> web.Response:
        try:
            world.knobs.update(await _body(request))
        except ValueError as exc:
            return _bad(str(exc))
        return _json(world.knobs.as_dict())

    async def expire_tokens(request: web.Request) -> web.Response:
        oauth.expire_access_tokens_of(world.merchant_id)
        return _json({"expired": True})

    async def oauth_state(request: web.Request) -> web.Response:
        return _json({"refreshes": oauth.refreshes, "live_refresh_tokens": len(oauth.refresh_tokens)})

    return [
        web.get("/_sandbox/outbounds", list_outbounds),
        web.post("/_sandbox/outbounds/{id}/ship", post_ship),
        web.post("/_sandbox/outbounds/{id}/status", post_status),
        web.get("/_sandbox/products", list_products),
        web.get("/_sandbox/shipping-notifications", list_notifications),
        web.put("/_sandbox/stock/{sku}", put_stock),
        web.put("/_sandbox/autopilot", put_autopilot),
        web.put("/_sandbox/knobs", put_knobs),
        web.post("/_sandbox/oauth/expire-access-tokens", expire_tokens),
        web.get("/_sandbox/oauth", oauth_state),
    ]


def client_routes(oauth: OAuthServer) -> list[web.RouteDef]:
    """``POST /_sandbox/clients``: an OAuth client holding one merchant's consent (one per merchant)."""

    async def register(request: web.Request) -> web.Response:
        body = await _body(request)
        merchant_id = str(body.get("merchant_id", ""))
        if not MERCHANT_ID_PATTERN.match(merchant_id):
            return _bad(f"merchant_id must be 4 characters A-Z/0-9 (like MERC), got {merchant_id!r}")
        client = Client(
            str(body.get("client_id") or f"sandbox-{merchant_id}"),
            str(body.get("client_secret") or f"sandbox-secret-{merchant_id}"),
            merchant_id,
        )
        try:
            oauth.register(client)
        except ValueError as exc:
            return _json({"error": str(exc)}, status=409)
        return _json({"merchant_id": merchant_id, "client_id": client.client_id}, status=201)

    return [web.post("/_sandbox/clients", register)]
