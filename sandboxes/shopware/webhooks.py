"""Shopware webhooks in the sandbox: the ``webhook`` entity and deliveries as ``WebhookDispatcher`` sends them.

API: ``POST /api/webhook`` (``name``, ``eventName``, ``url`` required; ``errorCount`` is write-protected),
``POST /api/search/webhook``, ``GET|PATCH /api/webhook/{id}`` (the generic entity routes) and ``DELETE
/api/webhook/{id}``. A webhook created here has no ``appId``, so its deliveries are unsigned, as
Shopware sends every non-app webhook.

Events: ``checkout.order.placed`` (a new order), ``state_enter.<machine>.state.<state>`` on every state
change (``state_enter.order_transaction.state.paid`` when paid, ``state_enter.order.state.cancelled``),
``order.written`` (placed, edited, PATCHed, its state changed: our own writes echo),
``product.written`` (created, changed through the control API, PATCH or ``_action/sync``). Body
``{"data": {"payload": …, "event": name}, "source": {"url", "eventId"}, "timestamp"}``: a business
event's payload is ``{"order": {…}}``, a written event's a list of ``{entity, operation, primaryKey,
updatedFields, versionId}`` (``HookableEntityWrittenEvent``). Headers ``Content-Type``, ``sw-version``,
``sw-context-language``, ``sw-user-language``.

Failures (``WebhookEventMessageHandler``: no 2xx within 20 s): the message is retried 3 times after 1,
2 and 4 s (the messenger's retry strategy) with the same event id; when the last retry fails the
webhook's ``errorCount`` goes up, and at 10 it is set ``active: false`` with ``errorCount`` back to 0
(``RetryWebhookMessageFailedSubscriber``); a success resets ``errorCount``. Knobs ``retry_delays_s``,
``disable_after_failures`` and the shared fault knobs (``sandboxes/kit/webhooks.py``).
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from aiohttp import web

from sandboxes.kit.kit import json_response
from sandboxes.kit.webhooks import Deliveries, Knobs, Outgoing
from sandboxes.shopware.api_read import admin_route, not_found, read_json, shop_of
from sandboxes.shopware.criteria import render
from sandboxes.shopware.errors import error_response
from sandboxes.shopware.shop import Shop
from sandboxes.shopware.store import Row, stable_id
from sandboxes.shopware.world import LANGUAGE_ID

DEFAULT_KNOBS = Knobs(disable_after_failures=10, retry_delays_s=[1.0, 2.0, 4.0], timeout_s=20.0)
LIVE_VERSION = stable_id("version", "live")
WRITE_PROTECTED = ("errorCount",)
ORDER_DATA: dict[str, Any] = {"lineItems": {}, "deliveries": {}, "transactions": {}, "stateMachineState": {}}
NOT_BLANK = "c1051bb4-d103-4f74-8988-acbcafc7fdc3"
USER_LANGUAGE = "en-GB"


class ShopwareWebhooks:
    def __init__(self, shop: Shop, deliveries: Deliveries, shop_url: str = "http://localhost") -> None:
        self.shop = shop
        self.deliveries = deliveries
        self.shop_url = shop_url
        deliveries.on_outcome = self._outcome

    # events -----------------------------------------------------------------------------------------

    def notify(self, event: str, row: Row, fields: list[str] | None = None) -> None:
        """``event`` happened to ``row`` (the order of a business event; the written row otherwise)."""
        targets = [
            h
            for h in self.shop.store.rows("webhook")
            if h["eventName"] == event and h.get("active") is not False
        ]
        if not targets:
            return
        store = self.shop.store
        if event.endswith(".written"):
            entity = event.removesuffix(".written")
            payload: Any = [
                {
                    "entity": entity,
                    "operation": "insert" if fields is None else "update",
                    "primaryKey": row["id"],
                    "updatedFields": sorted(row) if fields is None else sorted({*fields, "id", "versionId"}),
                    "versionId": row.get("versionId", LIVE_VERSION),
                }
            ]
        else:
            payload = {"order": render(store, "order", row, {"associations": ORDER_DATA})}
        for hook in targets:
            body = {
                "data": {"payload": payload, "event": event},
                "source": {"url": self.shop_url, "eventId": uuid.uuid4().hex},
                "timestamp": int(self.shop.clock.now().timestamp()),
            }

            def sign(_raw: bytes, _forged: bool) -> dict[str, str]:
                # Unsigned (no app): a "wrong signature" has nothing to spoil; the URL token is the proof.
                return {
                    "Content-Type": "application/json",
                    "User-Agent": "GuzzleHttp/7",
                    "sw-version": self.shop.version,
                    "sw-context-language": LANGUAGE_ID,
                    "sw-user-language": USER_LANGUAGE,
                }

            self.deliveries.send(hook["id"], hook["url"], event, orjson.dumps(body), sign)

    def _outcome(self, delivery: Outgoing, ok: bool) -> float | None:
        hook = self.shop.store.get("webhook", delivery.subscription_id)
        if hook is None:
            return None
        if ok:
            hook["errorCount"] = 0
            return None
        delays = self.deliveries.knobs.retry_delays_s
        if delivery.attempt <= len(delays):
            return delays[delivery.attempt - 1]
        if hook.get("active") is False:
            return None
        hook["errorCount"] = int(hook.get("errorCount") or 0) + 1
        limit = self.deliveries.knobs.disable_after_failures
        if limit and hook["errorCount"] >= limit:
            hook["errorCount"], hook["active"] = 0, False
        return None

    # API --------------------------------------------------------------------------------------------

    def listing(self) -> list[dict[str, Any]]:
        return [dict(h) for h in self.shop.store.rows("webhook")]

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/api/webhook", create)
        app.router.add_delete("/api/webhook/{id}", delete)


@admin_route
async def create(request: web.Request) -> web.Response:
    shop = shop_of(request)
    body = await read_json(request)
    if not isinstance(body, dict):
        return error_response(400, "FRAMEWORK__INVALID_REQUEST", "the body must be a JSON object")
    for field in ("name", "eventName", "url"):
        if not isinstance(body.get(field), str) or not body[field]:
            return error_response(400, NOT_BLANK, "This value should not be blank.", pointer=f"/{field}")
    for field in WRITE_PROTECTED:
        if field in body:
            return error_response(
                400,
                "FRAMEWORK__WRITE_PROTECTED",
                f'This field is write-protected. ("{field}")',
                pointer=f"/{field}",
            )
    if len(body["url"]) > 500 or len(body["eventName"]) > 500:
        return error_response(
            400, "FRAMEWORK__WRITE_CONSTRAINT_VIOLATION", "This value is too long.", pointer="/url"
        )
    hook_id = str(body.get("id") or uuid.uuid4().hex)
    if shop.store.get("webhook", hook_id) is not None:
        return error_response(
            400,
            "FRAMEWORK__WRITE_TYPE_INTEND_ERROR",
            'Expected command for "webhook" to be "CreateCommand". Got "UpdateCommand".',
        )
    now = shop.world.now()
    row: Row = {
        "id": hook_id,
        "name": body["name"],
        "eventName": body["eventName"],
        "url": body["url"],
        "onlyLiveVersion": bool(body.get("onlyLiveVersion", False)),
        "errorCount": 0,
        "active": body.get("active", True) is not False,
        "appId": None,
        "createdAt": now,
        "updatedAt": None,
    }
    shop.store.insert("webhook", row)
    if "_response" in request.query:
        return json_response({"data": render(shop.store, "webhook", row, {})})
    return web.Response(status=204, headers={"Location": f"/api/webhook/{hook_id}"})


@admin_route
async def delete(request: web.Request) -> web.Response:
    shop = shop_of(request)
    hook_id = request.match_info["id"]
    if shop.store.get("webhook", hook_id) is None:
        return not_found(request)
    del shop.store.tables["webhook"][hook_id]
    return web.Response(status=204)
