"""WooCommerce webhooks in the sandbox: ``/wc/v3/webhooks`` and deliveries as ``WC_Webhook`` makes them.

API (``WC_REST_Webhooks_V1/V2_Controller``, v3 inherits them): ``GET /webhooks`` (``status`` all|active|
paused|disabled, paged), ``POST /webhooks`` (``topic`` and
``delivery_url`` required and validated; created ``active`` whatever ``status`` says; ``secret`` defaults
to a generated one; then a blocking ping ``webhook_id=N`` to the address whose result is ignored),
``GET|PUT|POST|PATCH /webhooks/{id}`` (topic, delivery_url, secret, status, name), ``DELETE
/webhooks/{id}`` (``force=true`` required, else 501 ``woocommerce_rest_trash_not_supported``). No answer
ever carries ``secret``, whatever the ``context``: the schema declares it, but the v2 controller's
``prepare_item_for_response`` (which v3 inherits) never puts it in the response. A client cannot read
back which secret a webhook has; it can only set it.

Deliveries: ``order.created`` for a new order (not a checkout draft), ``order.updated`` on a change
(status, refund, our own writes), ``order.deleted`` when trashed (body ``{"id": N}``), ``order.restored``,
``product.created``/``product.updated`` (stock changes included). Like WooCommerce (one delivery per
resource and topic per request, built when delivered) the changes of one request are coalesced and the
body is the resource's ``/wc/v3`` JSON at that moment. Headers: ``X-WC-Webhook-Source``, ``-Topic``,
``-Resource``, ``-Event``, ``-Signature`` (base64 HMAC-SHA256 of the body with the webhook's secret),
``-ID``, ``-Delivery-ID``.

Failures: a delivery is never retried. A status outside 200..302 counts a failure; a success resets the
count. The v3 docs: "After 5 consecutive failed deliveries … the webhook is disabled"; that is the
default here (``WC_Webhook::failed_delivery``'s ``failure_count > 5`` test fires only on the 7th; the
documented, stricter reading wins, ``disable_after_failures`` knob). Shared fault knobs:
``sandboxes/kit/webhooks.py``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson
from aiohttp import web

from sandboxes.kit.kit import json_response
from sandboxes.kit.webhooks import Deliveries, Knobs, Outgoing
from sandboxes.woocommerce.orders import json_body, origin
from sandboxes.woocommerce.render import order_json, product_json, variation_json
from sandboxes.woocommerce.responses import PageRequest, invalid_param, wc_error
from sandboxes.woocommerce.state import ShopState

PREFIX = "/wp-json/wc/v3/webhooks"
STATUSES = ("active", "paused", "disabled")
RESOURCES = ("coupon", "customer", "order", "product")
EVENTS = ("created", "updated", "deleted", "restored")
USER_AGENT = "WooCommerce/9.9.0 Hookshot (WordPress/6.8.1)"
DEFAULT_KNOBS = Knobs(disable_after_failures=5, retry_delays_s=[], timeout_s=60.0)
PING_TIMEOUT_S = 5.0  # wp_safe_remote_post's default
DRAFTS = ("checkout-draft", "auto-draft", "draft")
# WC_Webhook::get_default_topic_hooks, shown in the webhook's ``hooks``.
TOPIC_HOOKS = {
    "order.created": ["woocommerce_new_order"],
    "order.updated": ["woocommerce_update_order", "woocommerce_order_refunded", "woocommerce_delete_order_refund"],
    "order.deleted": ["wp_trash_post", "woocommerce_trash_order"],
    "order.restored": ["untrashed_post", "woocommerce_untrash_order"],
    "product.created": [
        "woocommerce_process_product_meta", "woocommerce_new_product", "woocommerce_new_product_variation",
    ],
    "product.updated": [
        "woocommerce_process_product_meta", "woocommerce_update_product", "woocommerce_update_product_variation",
    ],
}  # fmt: skip


@dataclass
class Webhook:
    id: int
    name: str
    topic: str
    delivery_url: str
    secret: str
    status: str
    created: datetime
    modified: datetime
    source: str  # the shop's home URL, sent as X-WC-Webhook-Source
    failure_count: int = 0

    @property
    def resource(self) -> str:
        return self.topic.split(".", 1)[0]

    @property
    def event(self) -> str:
        return self.topic.split(".", 1)[1]


def signature(secret: str, body: bytes) -> str:
    """``WC_Webhook::generate_signature``: base64 of the raw HMAC-SHA256 of the body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def valid_topic(topic: str) -> bool:
    if topic.startswith(("action.woocommerce_", "action.wc_")):
        return True
    parts = topic.split(".")
    return len(parts) == 2 and parts[0] in RESOURCES and parts[1] in EVENTS


def valid_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


class WooWebhooks:
    def __init__(self, state: ShopState, deliveries: Deliveries) -> None:
        self.state = state
        self.deliveries = deliveries
        self.hooks: dict[int, Webhook] = {}
        self._ids = itertools.count(1)
        self._pending: dict[tuple[str, int], None] = {}  # (topic, resource id), in order
        self._flush_scheduled = False
        deliveries.on_outcome = self._outcome
        state.on_change = self.notify

    def reset(self) -> None:
        self.hooks.clear()
        self._pending.clear()
        self.deliveries.reset()

    # events -----------------------------------------------------------------------------------------

    def notify(self, topic: str, resource_id: int) -> None:
        """A change; delivered after the current request, once per topic and resource."""
        if not any(h.topic == topic and h.status == "active" for h in self.hooks.values()):
            return
        if topic.startswith("order.") and topic != "order.deleted":
            order = self.state.orders.get(resource_id)
            if order is None or order.status in DRAFTS:
                return
        self._pending[(topic, resource_id)] = None
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        pending, self._pending = list(self._pending), {}
        for topic, resource_id in pending:
            for hook in [h for h in self.hooks.values() if h.topic == topic and h.status == "active"]:
                payload = self._payload(hook, resource_id)
                if payload is None:
                    continue
                self._send(hook, orjson.dumps(payload))

    def _payload(self, hook: Webhook, resource_id: int) -> dict[str, Any] | None:
        if hook.event == "deleted":
            return {"id": resource_id}
        if hook.resource == "order":
            order = self.state.orders.get(resource_id)
            return order_json(self.state, order, hook.source) if order is not None else None
        product = self.state.products.get(resource_id)
        if product is None:
            return None
        if product.type == "variation":
            return variation_json(self.state, product, hook.source)
        return product_json(self.state, product, hook.source)

    def _send(self, hook: Webhook, body: bytes) -> None:
        delivery_id = uuid.uuid4().hex  # WooCommerce: wp_hash(id . time)

        def sign(raw: bytes, forged: bool) -> dict[str, str]:
            return {
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "X-WC-Webhook-Source": hook.source + "/",
                "X-WC-Webhook-Topic": hook.topic,
                "X-WC-Webhook-Resource": hook.resource,
                "X-WC-Webhook-Event": hook.event,
                "X-WC-Webhook-Signature": signature(("wrong" + hook.secret) if forged else hook.secret, raw),
                "X-WC-Webhook-ID": str(hook.id),
                "X-WC-Webhook-Delivery-ID": delivery_id,
            }

        self.deliveries.send(str(hook.id), hook.delivery_url, hook.topic, body, sign)

    def _outcome(self, delivery: Outgoing, ok: bool) -> float | None:
        hook = self.hooks.get(int(delivery.subscription_id))
        if hook is None:
            return None
        if ok:
            hook.failure_count = 0
            return None
        hook.failure_count += 1
        limit = self.deliveries.knobs.disable_after_failures
        if limit and hook.failure_count >= limit and hook.status == "active":
            hook.status = "disabled"
            self.deliveries.forget(str(hook.id))
        return None  # WooCommerce never retries a delivery

    # REST API ---------------------------------------------------------------------------------------

    def render(self, hook: Webhook) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": hook.id,
            "name": hook.name,
            "status": hook.status,
            "topic": hook.topic,
            "resource": hook.resource,
            "event": hook.event,
            "hooks": TOPIC_HOOKS.get(hook.topic, []),
            "delivery_url": hook.delivery_url,
            "date_created": hook.created.astimezone(self.state.tz).replace(tzinfo=None).isoformat(),
            "date_created_gmt": hook.created.replace(tzinfo=None).isoformat(),
            "date_modified": hook.modified.astimezone(self.state.tz).replace(tzinfo=None).isoformat(),
            "date_modified_gmt": hook.modified.replace(tzinfo=None).isoformat(),
        }
        body["_links"] = {
            "self": [{"href": f"{hook.source}{PREFIX}/{hook.id}"}],
            "collection": [{"href": f"{hook.source}{PREFIX}"}],
        }
        return body

    def _find(self, request: web.Request) -> Webhook | None:
        return self.hooks.get(int(request.match_info["webhook_id"]))

    async def list_hooks(self, request: web.Request) -> web.Response:
        status = request.query.get("status", "all")
        if status not in ("all", *STATUSES):
            return invalid_param("status", f"status is not one of all, {', '.join(STATUSES)}.")
        try:
            page = PageRequest(request)
        except ValueError as exc:
            return invalid_param(str(exc), f"{exc} is out of range")
        rows = [h for h in self.hooks.values() if status in ("all", h.status)]
        rows.sort(key=lambda h: (h.created, h.id), reverse=True)  # orderby=date, order=desc
        return page.respond(rows, self.render)

    async def create(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        if not isinstance(body, dict):
            return wc_error("rest_invalid_json", "Invalid JSON body passed.", 400)
        if body.get("id"):
            return wc_error(
                "woocommerce_rest_shop_webhook_exists", "Cannot create existing shop_webhook.", 400
            )
        topic = str(body.get("topic") or "").lower()
        if not valid_topic(topic):
            return wc_error(
                "woocommerce_rest_shop_webhook_invalid_topic",
                "Webhook topic is required and must be valid.",
                400,
            )
        url = str(body.get("delivery_url") or "")
        if not valid_url(url):
            return wc_error(
                "woocommerce_rest_shop_webhook_invalid_delivery_url",
                "Webhook delivery URL must be a valid URL starting with http:// or https://.",
                400,
            )
        now = self.state.now()
        hook = Webhook(
            id=next(self._ids),
            name=str(body.get("name") or f"Webhook created on {now:%b %d, %Y @ %I:%M %p}"),
            topic=topic,
            delivery_url=url,
            secret=str(body.get("secret") or secrets.token_urlsafe(38)[:50]),
            status="active",  # the v1 controller creates every webhook published, i.e. active
            created=now,
            modified=now,
            source=origin(request),
        )
        self.hooks[hook.id] = hook
        rendered = self.render(hook)
        await self._ping(hook)
        return json_response(rendered, status=201, headers={"Location": f"{hook.source}{PREFIX}/{hook.id}"})

    async def _ping(self, hook: Webhook) -> None:
        """``WC_Webhook::deliver_ping``: blocking, its outcome only logged by WooCommerce."""
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.post(
                    hook.delivery_url,
                    data=f"webhook_id={hook.id}".encode(),
                    headers={"User-Agent": USER_AGENT, "Content-Type": "application/x-www-form-urlencoded"},
                    timeout=aiohttp.ClientTimeout(total=PING_TIMEOUT_S),
                ) as response,
            ):
                await response.read()
        except (aiohttp.ClientError, TimeoutError, OSError):
            pass

    async def get(self, request: web.Request) -> web.Response:
        hook = self._find(request)
        if hook is None:
            return wc_error("woocommerce_rest_shop_webhook_invalid_id", "Invalid ID.", 404)
        return json_response(self.render(hook))

    async def update(self, request: web.Request) -> web.Response:
        hook = self._find(request)
        if hook is None:
            return wc_error("woocommerce_rest_shop_webhook_invalid_id", "ID is invalid.", 400)
        body = await json_body(request)
        if not isinstance(body, dict):
            return wc_error("rest_invalid_json", "Invalid JSON body passed.", 400)
        topic = str(body.get("topic") or "").lower()
        if topic and not valid_topic(topic):
            return wc_error(
                "woocommerce_rest_shop_webhook_invalid_topic", "Webhook topic must be valid.", 400
            )
        url = str(body.get("delivery_url") or "")
        if url and not valid_url(url):
            return wc_error(
                "woocommerce_rest_shop_webhook_invalid_delivery_url",
                "Webhook delivery URL must be a valid URL starting with http:// or https://.",
                400,
            )
        status = str(body.get("status") or "").lower()
        if status and status not in STATUSES:
            return wc_error(
                "woocommerce_rest_shop_webhook_invalid_status", "Webhook status must be valid.", 400
            )
        hook.topic = topic or hook.topic
        hook.delivery_url = url or hook.delivery_url
        hook.secret = str(body.get("secret") or hook.secret)
        if status:
            hook.status = status
            if status != "active":
                self.deliveries.forget(str(hook.id))
        hook.name = str(body.get("name") or hook.name)
        hook.modified = self.state.now()
        return json_response(self.render(hook))

    async def delete(self, request: web.Request) -> web.Response:
        if request.query.get("force", "false").lower() not in ("1", "true"):
            return wc_error("woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.", 501)
        hook = self._find(request)
        if hook is None:
            return wc_error("woocommerce_rest_shop_webhook_invalid_id", "Invalid ID.", 404)
        del self.hooks[hook.id]
        self.deliveries.forget(str(hook.id))
        return json_response(self.render(hook))

    def listing(self) -> list[dict[str, Any]]:
        # Test introspection, not the API: it shows what the REST answers hide.
        return [
            self.render(h) | {"secret": h.secret, "failure_count": h.failure_count}
            for h in self.hooks.values()
        ]

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(PREFIX, self.list_hooks)
        app.router.add_post(PREFIX, self.create)
        item = PREFIX + r"/{webhook_id:\d+}"
        app.router.add_get(item, self.get)
        for method in ("PUT", "POST", "PATCH"):
            app.router.add_route(method, item, self.update)
        app.router.add_delete(item, self.delete)
