"""A small WebhookSupport that signs like Shopify/WooCommerce (base64 HMAC-SHA256 of the raw body) and, when the
credentials carry a token, checks the URL's token like the Shopware adapter; plus an in-memory shop registry."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from daemon.secrets import Secret
from daemon.webhooks.types import (
    Delivery,
    DeliveryRejected,
    RegistrationReport,
    RejectReason,
    Subscription,
    WebhookCredentials,
    WebhookFlow,
)

TOPICS = {
    "orders/create": WebhookFlow.ORDERS,
    "orders/updated": WebhookFlow.ORDERS,
    "products/update": WebhookFlow.PRODUCTS,
}
# Accepted but never registered: a topic whose bodies repeat for distinct events (as Shopify's
# fulfillment_orders/hold_released does).
REPEATING_BODIES = {"fulfillment_orders/hold_released": WebhookFlow.ORDERS}
ACCEPTED = {**TOPICS, **REPEATING_BODIES}


def sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def headers(
    body: bytes, secret: str, *, topic: str = "orders/create", delivery_id: str | None = "d-1"
) -> dict[str, str]:
    out = {"X-Test-Hmac": sign(body, secret), "X-Test-Topic": topic}
    if delivery_id is not None:
        out["X-Test-Id"] = delivery_id
    return out


@dataclass
class FakeWebhooks:
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    calls: list[tuple[str, tuple[str, ...], str]] = field(default_factory=list)
    failing: Exception | None = None
    authenticated: int = 0

    def topics(self, flows: Collection[WebhookFlow]) -> list[str]:
        return sorted(topic for topic, flow in TOPICS.items() if flow in flows)

    def authenticate(
        self,
        headers: Mapping[str, str],
        body: bytes,
        credentials: WebhookCredentials,
        *,
        path_token: str | None,
    ) -> Delivery:
        self.authenticated += 1
        if headers.get("X-Test-Ping"):
            return Delivery("ping", WebhookFlow.ORDERS, None, ping=True)
        if credentials.token is not None:
            if path_token is None or not hmac.compare_digest(path_token, credentials.token.reveal()):
                raise DeliveryRejected(RejectReason.BAD_SIGNATURE, "token in the URL does not match")
        else:
            given = headers.get("X-Test-Hmac", "")
            if not any(hmac.compare_digest(given, sign(body, s.reveal())) for s in credentials.secrets):
                raise DeliveryRejected(RejectReason.BAD_SIGNATURE, "HMAC does not match")
        topic = headers.get("X-Test-Topic")
        if topic is None:
            raise DeliveryRejected(RejectReason.MALFORMED, "no topic header")
        if topic not in ACCEPTED:
            raise DeliveryRejected(RejectReason.UNKNOWN_TOPIC, f"topic {topic!r}")
        return Delivery(
            topic,
            ACCEPTED[topic],
            headers.get("X-Test-Id"),
            headers.get("X-Test-Resource"),
            same_body_same_event=topic not in REPEATING_BODIES,
        )

    async def list_webhooks(self, address_prefix: str) -> list[Subscription]:
        return [s for s in self.subscriptions.values() if s.address.startswith(address_prefix)]

    async def register(
        self, address: str, topics: Sequence[str], credentials: WebhookCredentials, *, address_prefix: str
    ) -> RegistrationReport:
        self.calls.append((address, tuple(topics), address_prefix))
        if self.failing is not None:
            raise self.failing
        created, updated, enabled, removed = [], [], [], []
        for key, sub in list(self.subscriptions.items()):
            if sub.address.startswith(address_prefix) and sub.topic not in topics:
                del self.subscriptions[key]
                removed.append(sub.topic)
        for topic in topics:
            sub = self.subscriptions.get(topic)
            if sub is None:
                created.append(topic)
            elif sub.address != address:
                updated.append(topic)
            elif not sub.active:
                enabled.append(topic)
            else:
                continue
            self.subscriptions[topic] = Subscription(topic, address, f"id-{topic}", True)
        return RegistrationReport(
            tuple(self.subscriptions.values()), tuple(created), tuple(updated), tuple(enabled), tuple(removed)
        )


SECRET = Secret("test-webhook-secret-value", source="test")
OLD_SECRET = Secret("test-old-secret-value", source="test")
TOKEN = Secret("TOKEN-abcdefghijklmnopqrstuvwxyz0123456789", source="test")
