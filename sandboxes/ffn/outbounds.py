"""Merchant outbound endpoints: create (with the merchant-wide creation lock), get, list, patch, status."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from sandboxes.ffn.odata import paged
from sandboxes.ffn.outbound_logic import create_outbound, set_status, update_outbound
from sandboxes.ffn.respond import FfnError, no_content, ok, read_json, validation_error
from sandboxes.ffn.world import World

PREFIX = "/api/v1/merchant/outbounds"


def _flag(request: web.Request, name: str) -> bool:
    raw = request.query.get(name, "false").lower()
    if raw not in ("true", "false"):
        raise validation_error(f"{name} must be true or false, got {raw!r}", name)
    return raw == "true"


def _not_found(key: str) -> FfnError:
    return FfnError(
        404, "Outbounds_OutboundNotFound", "The outbound does not exist", "Outbound not found", {}
    )


def routes(world: World) -> list[web.RouteDef]:
    def find(request: web.Request) -> dict[str, Any]:
        key = request.match_info["outboundId"]
        doc = world.find_outbound(key)
        if doc is None:
            raise _not_found(key)
        return doc

    async def create(request: web.Request) -> web.Response:
        body = await read_json(request)
        if world.creating:
            raise FfnError(
                423,
                "Outbounds_OutboundCreationIsLocked",
                "The creation of the outbound request was not successful because there is an ongoing outbound "
                "creation process that is currently blocking new requests. Please wait for the current outbound "
                "creation process to complete before attempting to create a new outbound request.",
                "Outbound creation is locked",
                {"MerchantOutboundNumber": str(body.get("merchantOutboundNumber"))},
            )
        world.creating = True
        try:
            if world.knobs.creation_delay_s > 0:
                await asyncio.sleep(world.knobs.creation_delay_s)
            doc = create_outbound(world, body, _flag(request, "oversale"))
        finally:
            world.creating = False
        return ok(doc, status=201)

    async def list_outbounds(request: web.Request) -> web.Response:
        return ok(paged(request, list(world.outbounds.values()), world.knobs.default_top))

    async def get_one(request: web.Request) -> web.Response:
        return ok(find(request))

    async def patch(request: web.Request) -> web.Response:
        doc = find(request)
        update_outbound(world, doc, await read_json(request), _flag(request, "oversale"))
        return no_content()

    async def change_status(request: web.Request) -> web.Response:
        doc = find(request)
        body = await read_json(request)
        if not body.get("status"):
            raise validation_error("'status' is required", "status")
        set_status(world, doc, body["status"], body.get("cancelReason"), by_merchant=True)
        return no_content()

    async def notifications_of(request: web.Request) -> web.Response:
        doc = find(request)
        return ok([n for n in world.notifications if n["outboundId"] == doc["outboundId"]])

    return [
        web.post(PREFIX, create),
        web.get(PREFIX, list_outbounds),
        web.get(PREFIX + "/{outboundId}", get_one),
        web.patch(PREFIX + "/{outboundId}", patch),
        web.put(PREFIX + "/{outboundId}/status", change_status),
        web.get(PREFIX + "/{outboundId}/shipping-notifications", notifications_of),
    ]
