"""Shopify webhooks: subscriptions through the Admin GraphQL API, deliveries authenticated by HMAC.

Registration uses ``webhookSubscriptions`` / ``webhookSubscriptionCreate|Update|Delete`` with ``uri`` and
``format: JSON`` (2026-01 deprecates ``callbackUrl`` in favour of ``uri``). The list only ever shows this
app's subscriptions; of those, ours are the ones whose address starts with the channel's prefix, so
another channel or installation using the same app keeps its own. Shopify has no "disabled" state: a
subscription that keeps failing is deleted (8 failed attempts over 4 hours), so it comes back as
"created" in the next registration pass.

Deliveries are signed with the app's client secret: ``X-Shopify-Hmac-Sha256`` = base64(HMAC-SHA256(secret,
raw body)); during a secret rotation Shopify may sign with the old secret for up to an hour, so the
previous secret is accepted too. ``X-Shopify-Webhook-Id`` names the delivery (the same on retries).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import orjson
from loguru import logger

from adapters.shopify.transport import Operation, raise_user_errors
from daemon.webhooks.types import (
    Delivery,
    DeliveryRejected,
    Kept,
    RegistrationReport,
    RejectReason,
    Subscription,
    WebhookCredentials,
    WebhookFlow,
    is_ours,
    reconcile,
)

if TYPE_CHECKING:
    from adapters.shopify import ShopifyChannel

# The delivery's X-Shopify-Topic -> (the WebhookSubscriptionTopic value, the flow it nudges).
TOPICS: dict[str, tuple[str, WebhookFlow]] = {
    "orders/create": ("ORDERS_CREATE", WebhookFlow.ORDERS),
    "orders/updated": ("ORDERS_UPDATED", WebhookFlow.ORDERS),
    "orders/cancelled": ("ORDERS_CANCELLED", WebhookFlow.ORDERS),
    # A released hold changes the fulfillment order, not the order's updatedAt: without this topic the
    # order would wait for the reconcile.
    "fulfillment_orders/hold_released": ("FULFILLMENT_ORDERS_HOLD_RELEASED", WebhookFlow.ORDERS),
    "products/create": ("PRODUCTS_CREATE", WebhookFlow.PRODUCTS),
    "products/update": ("PRODUCTS_UPDATE", WebhookFlow.PRODUCTS),
}
_BY_ENUM = {enum: topic for topic, (enum, _) in TOPICS.items()}
_RESOURCE_KIND = {WebhookFlow.ORDERS: "Order", WebhookFlow.PRODUCTS: "Product"}
PAGE = 100

_SUBSCRIPTION_FIELDS = "id topic uri"
LIST_SUBSCRIPTIONS = Operation(
    "WebhookSubscriptions",
    f"""query WebhookSubscriptions($first: Int!, $after: String) {{
  webhookSubscriptions(first: $first, after: $after) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ {_SUBSCRIPTION_FIELDS} }}
  }}
}}""",
    estimate=2 + PAGE,
)
CREATE_SUBSCRIPTION = Operation(
    "WebhookSubscriptionCreate",
    f"""mutation WebhookSubscriptionCreate($topic: WebhookSubscriptionTopic!, $subscription: WebhookSubscriptionInput!) {{
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $subscription) {{
    webhookSubscription {{ {_SUBSCRIPTION_FIELDS} }}
    userErrors {{ field message }}
  }}
}}""",
    estimate=10,
)
UPDATE_SUBSCRIPTION = Operation(
    "WebhookSubscriptionUpdate",
    f"""mutation WebhookSubscriptionUpdate($id: ID!, $subscription: WebhookSubscriptionInput!) {{
  webhookSubscriptionUpdate(id: $id, webhookSubscription: $subscription) {{
    webhookSubscription {{ {_SUBSCRIPTION_FIELDS} }}
    userErrors {{ field message }}
  }}
}}""",
    estimate=10,
)
DELETE_SUBSCRIPTION = Operation(
    "WebhookSubscriptionDelete",
    """mutation WebhookSubscriptionDelete($id: ID!) {
  webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { field message } }
}""",
    estimate=10,
)
OPERATIONS = (LIST_SUBSCRIPTIONS, CREATE_SUBSCRIPTION, UPDATE_SUBSCRIPTION, DELETE_SUBSCRIPTION)


def signature(secret: str, body: bytes) -> str:
    """Shopify's ``X-Shopify-Hmac-Sha256`` of a body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _lowered(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


class Webhooks:
    """``WebhookSupport`` for Shopify, over the channel's GraphQL transport (its cost pacing included).

    Each change is a DEBUG line with the shop's id; the daemon logs the pass's summary (RegistrationReport).
    """

    def __init__(self, channel: ShopifyChannel) -> None:
        self.transport = channel.transport

    def topics(self, flows: Collection[WebhookFlow]) -> list[str]:
        return [topic for topic, (_, flow) in TOPICS.items() if flow in flows]

    def authenticate(
        self,
        headers: Mapping[str, str],
        body: bytes,
        credentials: WebhookCredentials,
        *,
        path_token: str | None,
    ) -> Delivery:
        head = _lowered(headers)
        sent = head.get("x-shopify-hmac-sha256", "").strip()
        if not sent:
            raise DeliveryRejected(RejectReason.BAD_SIGNATURE, "no X-Shopify-Hmac-Sha256 header")
        if not credentials.secrets:
            raise DeliveryRejected(RejectReason.BAD_SIGNATURE, "no app secret configured to verify it")
        matches = [
            hmac.compare_digest(signature(s.reveal(), body).encode(), sent.encode())
            for s in credentials.secrets
        ]
        if not any(matches):
            raise DeliveryRejected(RejectReason.BAD_SIGNATURE, "X-Shopify-Hmac-Sha256 does not match")
        topic = head.get("x-shopify-topic", "")
        if not topic:
            raise DeliveryRejected(RejectReason.MALFORMED, "no X-Shopify-Topic header")
        known = TOPICS.get(topic)
        if known is None:
            raise DeliveryRejected(
                RejectReason.UNKNOWN_TOPIC, f"topic {topic[:80]!r} is not one we subscribe"
            )
        flow = known[1]
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise DeliveryRejected(RejectReason.MALFORMED, "the body is not JSON") from None
        if not isinstance(payload, dict):
            raise DeliveryRejected(RejectReason.MALFORMED, "the body is not a JSON object")
        return Delivery(
            topic=topic,
            flow=flow,
            delivery_id=head.get("x-shopify-webhook-id") or None,
            resource_id=_resource_id(payload, _RESOURCE_KIND[flow]),
            new_record=topic == "orders/create",
            same_body_same_event=topic != "fulfillment_orders/hold_released",
        )

    async def list_webhooks(self, address_prefix: str) -> list[Subscription]:
        return [s for s in await self._all() if is_ours(s.address, address_prefix)]

    async def _all(self) -> list[Subscription]:
        found: list[Subscription] = []
        after: str | None = None
        while True:
            data = await self.transport.query(LIST_SUBSCRIPTIONS, {"first": PAGE, "after": after})
            page = data["webhookSubscriptions"]
            found.extend(_subscription(node) for node in page["nodes"])
            if not page["pageInfo"]["hasNextPage"]:
                return found
            after = page["pageInfo"]["endCursor"]

    async def register(
        self, address: str, topics: Sequence[str], credentials: WebhookCredentials, *, address_prefix: str
    ) -> RegistrationReport:
        unknown = [t for t in topics if t not in TOPICS]
        if unknown:
            raise ValueError(f"not Shopify webhook topics: {unknown}; known: {sorted(TOPICS)}")

        async def keep(topic: str, sub: Subscription) -> Kept:
            if sub.address == address:
                return Kept(sub)
            return Kept(await self._update(sub, address), updated=True)

        return await reconcile(
            await self.list_webhooks(address_prefix),
            topics,
            address,
            topic_of=lambda s: s.topic,
            address_of=lambda s: s.address,
            create=lambda topic: self._create(topic, address),
            keep=keep,
            delete=self._delete,
        )

    async def _create(self, topic: str, address: str) -> Subscription:
        data = await self.transport.mutate(
            CREATE_SUBSCRIPTION,
            {"topic": TOPICS[topic][0], "subscription": {"uri": address, "format": "JSON"}},
        )
        result = data.get("webhookSubscriptionCreate") or {}
        raise_user_errors(result.get("userErrors"), f"webhookSubscriptionCreate {topic}")
        sub = _subscription(result["webhookSubscription"])
        logger.debug(f"shopify webhook {topic} subscribed ({sub.remote_id})")
        return sub

    async def _update(self, sub: Subscription, address: str) -> Subscription:
        data = await self.transport.mutate(
            UPDATE_SUBSCRIPTION, {"id": sub.remote_id, "subscription": {"uri": address, "format": "JSON"}}
        )
        result = data.get("webhookSubscriptionUpdate") or {}
        raise_user_errors(result.get("userErrors"), f"webhookSubscriptionUpdate {sub.topic}")
        logger.debug(f"shopify webhook {sub.topic} ({sub.remote_id}) moved to the configured address")
        return _subscription(result["webhookSubscription"])

    async def _delete(self, sub: Subscription) -> None:
        data = await self.transport.mutate(DELETE_SUBSCRIPTION, {"id": sub.remote_id})
        result = data.get("webhookSubscriptionDelete") or {}
        raise_user_errors(result.get("userErrors"), f"webhookSubscriptionDelete {sub.topic}")
        logger.debug(f"shopify webhook {sub.topic} ({sub.remote_id}) removed: no longer configured")


def _subscription(node: dict[str, Any]) -> Subscription:
    enum = str(node.get("topic") or "")
    return Subscription(
        topic=_BY_ENUM.get(enum, enum.lower()),
        address=str(node.get("uri") or ""),
        remote_id=str(node["id"]),
        active=True,  # Shopify deletes a failing subscription instead of disabling it
    )


def _resource_id(payload: dict[str, Any], kind: str) -> str | None:
    """The order's or product's gid: ``admin_graphql_api_id``, else built from the REST ``id``."""
    gid = payload.get("admin_graphql_api_id")
    if isinstance(gid, str) and gid.startswith(f"gid://shopify/{kind}/"):
        return gid
    number = payload.get("id")
    if isinstance(number, int) and not isinstance(number, bool) and number > 0:
        return f"gid://shopify/{kind}/{number}"
    return None
