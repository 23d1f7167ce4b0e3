"""Shopify webhooks in the sandbox: the subscription API and deliveries as Shopify makes them.

API (served through the GraphQL endpoint, validated against the 2026-01 schema subset):
``webhookSubscriptions`` (this app's subscriptions, paged), ``webhookSubscriptionCreate`` (``uri``;
the same topic at the same address twice is refused, as Shopify does), ``webhookSubscriptionUpdate``,
``webhookSubscriptionDelete``. Shopify takes HTTPS addresses only; the sandbox also takes plain http on
127.0.0.1/localhost so a local receiver can be called (a sandbox convenience).

Deliveries: ``orders/create`` when an order is placed, ``orders/updated`` on every change that moves
the order's ``updatedAt`` (our own writes included: Shopify echoes them), ``orders/cancelled`` plus
``orders/updated`` on a cancel, ``fulfillment_orders/hold_released`` per released fulfillment order,
``products/create`` / ``products/update``. The body is the REST resource of the topic (a subset of
its fields); headers ``X-Shopify-Topic``, ``X-Shopify-Hmac-Sha256`` (base64 HMAC-SHA256 of the body with
the app's client secret, ``app_secret`` knob), ``X-Shopify-Shop-Domain``, ``X-Shopify-API-Version``,
``X-Shopify-Webhook-Id`` (one per delivery, kept on retries), ``X-Shopify-Event-Id`` (one per event),
``X-Shopify-Triggered-At``.

Failures (no 2xx within 5 s): retried 8 times over 4 hours with exponential backoff, carrying the
original payload; after 8 consecutive failed attempts the subscription is deleted (Shopify's docs:
"retries … up to eight times in a four-hour period … if failures persist … the webhook subscription is
removed"). Both are knobs (``retry_delays_s``, ``disable_after_failures``) in ``PUT /_sandbox/webhooks``,
with the shared fault knobs (``sandboxes/kit/webhooks.py``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import orjson

from sandboxes.kit.webhooks import Deliveries, Knobs, Outgoing
from sandboxes.shopify.paging import connection
from sandboxes.shopify.views import Info, View, stamp
from sandboxes.shopify.world import FulfillmentOrder, Order, Product, Variant, World, gid, parse_gid

TEST_APP_SECRET = "shpss_sandbox_app_secret"
# 8 retries whose exponential delays add up to 4 hours.
RETRY_DELAYS_S = [60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 3840.0, 6780.0]
DEFAULT_KNOBS = Knobs(disable_after_failures=8, retry_delays_s=RETRY_DELAYS_S, timeout_s=5.0)
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass
class Subscription:
    id: int
    topic: str  # WebhookSubscriptionTopic value, e.g. ORDERS_CREATE
    uri: str
    format: str
    api_version: str
    created_at: datetime
    updated_at: datetime
    failures: int = 0  # consecutive failed attempts


def header_topic(enum: str) -> str:
    """``ORDERS_CREATE`` -> ``orders/create``; the first ``_`` after the resource becomes ``/``."""
    for resource in ("FULFILLMENT_ORDERS", "ORDERS", "PRODUCTS"):
        if enum.startswith(resource + "_"):
            return f"{resource.lower()}/{enum[len(resource) + 1 :].lower()}"
    return enum.lower()


def _address_problem(uri: str) -> str | None:
    parts = urlsplit(uri)
    if not parts.netloc or parts.scheme not in ("http", "https"):
        return "Address is invalid"
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        return "Address protocol http:// is not supported"
    return None


def _error(field: list[str], message: str) -> dict[str, Any]:
    return {"field": field, "message": message}


class ShopifyWebhooks:
    def __init__(self, world: World, deliveries: Deliveries, *, app_secret: str, shop_domain: str) -> None:
        self.world = world
        self.deliveries = deliveries
        self.app_secret = app_secret
        self.shop_domain = shop_domain
        self.subscriptions: dict[int, Subscription] = {}
        self._ids = itertools.count(1_000_001)
        deliveries.on_outcome = self._outcome

    def reset(self) -> None:
        self.subscriptions.clear()
        self.deliveries.reset()

    # GraphQL resolvers (attached to the query and mutation roots) ------------------------------------

    def view(self, sub: Subscription) -> View:
        return {
            "id": gid("WebhookSubscription", sub.id),
            "legacyResourceId": str(sub.id),
            "topic": sub.topic,
            "uri": sub.uri,
            "format": sub.format,
            "filter": None,
            "includeFields": [],
            "createdAt": stamp(sub.created_at),
            "updatedAt": stamp(sub.updated_at),
        }

    def webhookSubscriptions(
        self, _info: Info, topics: list[str] | None = None, uri: str | None = None, **args: Any
    ) -> View:
        chosen = [
            s
            for s in self.subscriptions.values()
            if (not topics or s.topic in topics) and (uri is None or s.uri == uri)
        ]
        args.pop("sortKey", None)
        return connection(chosen, key=lambda s: (s.id,), view=self.view, **args)

    def webhookSubscriptionCreate(self, info: Info, topic: str, webhookSubscription: dict[str, Any]) -> View:
        uri = webhookSubscription.get("uri")
        problem = "Address can't be blank" if not uri else _address_problem(uri)
        if (
            uri
            and problem is None
            and any(s.topic == topic and s.uri == uri for s in self.subscriptions.values())
        ):
            problem = "Address for this topic has already been taken"
        if problem is not None or uri is None:
            return {
                "webhookSubscription": None,
                "userErrors": [_error(["webhookSubscription", "uri"], str(problem))],
            }
        now = self.world.now()
        sub = Subscription(
            next(self._ids),
            topic,
            uri,
            webhookSubscription.get("format") or "JSON",
            str(info.context.get("version") or ""),
            now,
            now,
        )
        self.subscriptions[sub.id] = sub
        return {"webhookSubscription": self.view(sub), "userErrors": []}

    def webhookSubscriptionUpdate(self, _info: Info, id: str, webhookSubscription: dict[str, Any]) -> View:
        sub = self._find(id)
        if sub is None:
            return {
                "webhookSubscription": None,
                "userErrors": [_error(["id"], "Webhook subscription does not exist")],
            }
        uri = webhookSubscription.get("uri")
        if uri is not None:
            problem = _address_problem(uri)
            if problem is not None:
                return {
                    "webhookSubscription": None,
                    "userErrors": [_error(["webhookSubscription", "uri"], problem)],
                }
            sub.uri = uri
        if webhookSubscription.get("format"):
            sub.format = webhookSubscription["format"]
        sub.updated_at = self.world.now()
        return {"webhookSubscription": self.view(sub), "userErrors": []}

    def webhookSubscriptionDelete(self, _info: Info, id: str) -> View:
        sub = self._find(id)
        if sub is None:
            return {
                "deletedWebhookSubscriptionId": None,
                "userErrors": [_error(["id"], "Webhook subscription does not exist")],
            }
        self._remove(sub)
        return {"deletedWebhookSubscriptionId": gid("WebhookSubscription", sub.id), "userErrors": []}

    def _find(self, value: str) -> Subscription | None:
        number = parse_gid(value, "WebhookSubscription")
        return self.subscriptions.get(number) if number is not None else None

    def _remove(self, sub: Subscription) -> None:
        self.subscriptions.pop(sub.id, None)
        self.deliveries.forget(str(sub.id))

    # deliveries -------------------------------------------------------------------------------------

    def notify(self, enum: str, record: Any) -> None:
        """A change in the world: deliver it to every subscription of the topic."""
        targets = [s for s in self.subscriptions.values() if s.topic == enum]
        if not targets:
            return
        body = orjson.dumps(self._payload(record))
        event_id = str(uuid.uuid4())
        triggered = self.world.clock.now().isoformat()
        for sub in targets:
            webhook_id = str(uuid.uuid4())

            def sign(
                raw: bytes, forged: bool, sub: Subscription = sub, webhook_id: str = webhook_id
            ) -> dict[str, str]:
                key = ("wrong-" + self.app_secret) if forged else self.app_secret
                digest = hmac.new(key.encode(), raw, hashlib.sha256).digest()
                return {
                    "Content-Type": "application/json",
                    "User-Agent": "Shopify-Captain-Hook",
                    "X-Shopify-Topic": header_topic(sub.topic),
                    "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
                    "X-Shopify-Shop-Domain": self.shop_domain,
                    "X-Shopify-API-Version": sub.api_version,
                    "X-Shopify-Webhook-Id": webhook_id,
                    "X-Shopify-Event-Id": event_id,
                    "X-Shopify-Triggered-At": triggered,
                }

            self.deliveries.send(str(sub.id), sub.uri, header_topic(sub.topic), body, sign)

    def _outcome(self, delivery: Outgoing, ok: bool) -> float | None:
        sub = self.subscriptions.get(int(delivery.subscription_id))
        if sub is None:
            return None
        if ok:
            sub.failures = 0
            return None
        sub.failures += 1
        limit = self.deliveries.knobs.disable_after_failures
        if limit and sub.failures >= limit:
            self._remove(sub)  # Shopify deletes an Admin-API subscription that keeps failing
            return None
        delays = self.deliveries.knobs.retry_delays_s
        return delays[delivery.attempt - 1] if delivery.attempt <= len(delays) else None

    def _payload(self, record: Any) -> dict[str, Any]:
        if isinstance(record, Order):
            return order_payload(record)
        if isinstance(record, FulfillmentOrder):
            return {
                "fulfillment_order": {
                    "id": gid("FulfillmentOrder", record.id),
                    "status": record.status.lower(),
                }
            }
        if isinstance(record, Variant):
            return product_payload(self.world.products[record.product_id], self.world)
        raise TypeError(f"no webhook payload for {type(record).__name__}")

    def listing(self) -> list[dict[str, Any]]:
        return [self.view(s) | {"failures": s.failures} for s in self.subscriptions.values()]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _price(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def order_payload(order: Order) -> dict[str, Any]:
    """The REST order resource (the fields of ``orders/*`` bodies the sandbox knows)."""
    status = order.fulfillment_status
    return {
        "id": order.id,
        "admin_graphql_api_id": gid("Order", order.id),
        "name": order.name,
        "number": order.number - 1000,
        "order_number": order.number,
        "created_at": _iso(order.created_at),
        "updated_at": _iso(order.updated_at),
        "cancelled_at": _iso(order.cancelled_at),
        "cancel_reason": order.cancel_reason.lower() if order.cancel_reason else None,
        "closed_at": _iso(order.closed_at),
        "currency": order.currency,
        "financial_status": order.financial_status.lower(),
        "fulfillment_status": None
        if status == "UNFULFILLED"
        else status.lower().replace("partially_", "partial"),
        "test": order.test,
        "email": order.email,
        "note": order.note,
        "tags": ", ".join(order.tags),
        "total_price": _price(order.total),
        "line_items": [
            {
                "id": li.id,
                "admin_graphql_api_id": gid("LineItem", li.id),
                "sku": li.sku,
                "name": li.name,
                "title": li.title,
                "variant_title": li.variant_title,
                "variant_id": li.variant_id,
                "quantity": li.quantity,
                "current_quantity": li.current_quantity,
                "fulfillable_quantity": max(0, li.current_quantity - li.fulfilled),
                "requires_shipping": li.requires_shipping,
                "price": _price(li.price),
            }
            for li in order.line_items
        ],
    }


def product_payload(product: Product, world: World) -> dict[str, Any]:
    return {
        "id": product.id,
        "admin_graphql_api_id": gid("Product", product.id),
        "title": product.title,
        "vendor": product.vendor,
        "status": product.status.lower(),
        "created_at": _iso(product.created_at),
        "updated_at": _iso(product.updated_at),
        "variants": [
            {
                "id": v.id,
                "admin_graphql_api_id": gid("ProductVariant", v.id),
                "product_id": product.id,
                "sku": v.sku,
                "barcode": v.barcode,
                "price": _price(v.price),
                "inventory_item_id": v.inventory_item_id,
            }
            for v in world.variants.values()
            if v.product_id == product.id
        ],
    }
