"""WooCommerce webhooks: ``/wc/v3/webhooks`` through the channel's client, deliveries checked by HMAC.

WooCommerce signs each delivery with the webhook's own secret: ``X-WC-Webhook-Signature`` =
base64(HMAC-SHA256(secret, body)) (``WC_Webhook::generate_signature``); ffn-sync generates that secret and
registers it. WooCommerce never answers with a webhook's secret (the schema declares ``secret``, but
``WC_REST_Webhooks_V2_Controller::prepare_item_for_response``, which v3 inherits, leaves it out in every
context), so a registered secret cannot be compared: while a rotation is staged (the credentials carry the
previous secret too) every webhook kept is given the new secret, and the daemon promotes it only after the
whole pass succeeded. WooCommerce disables a webhook after repeated failed deliveries
(``failure_count`` past ``woocommerce_max_webhook_delivery_failures``, 5): status ``disabled``, which the
registration switches back to ``active``. ``paused`` is an administrator's decision and is left alone.

On creation WooCommerce pings the address with the form body ``webhook_id=N`` (no signature, no topic);
that is answered as a ping (``Delivery.ping``), never a trigger.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from base64 import b64encode
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from loguru import logger

from adapters.woocommerce.catalog import API
from adapters.woocommerce.errors import decode
from adapters.woocommerce.paging import all_pages
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
    from adapters.woocommerce import WooCommerceChannel

TOPICS: dict[str, WebhookFlow] = {
    "order.created": WebhookFlow.ORDERS,
    "order.updated": WebhookFlow.ORDERS,  # a cancel is a status update
    "order.deleted": WebhookFlow.ORDERS,  # moved to the trash, which ffn-sync treats as cancelled
    "order.restored": WebhookFlow.ORDERS,
    "product.created": WebhookFlow.PRODUCTS,
    "product.updated": WebhookFlow.PRODUCTS,
}
PATH = f"{API}/webhooks"
_PING = re.compile(rb"webhook_id=\d{1,20}")


def signature(secret: str, body: bytes) -> str:
    """WooCommerce's ``X-WC-Webhook-Signature`` of a body."""
    return b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@dataclass(frozen=True)
class _Hook:
    id: int
    topic: str
    delivery_url: str
    status: str

    def subscription(self) -> Subscription:
        return Subscription(self.topic, self.delivery_url, str(self.id), self.status == "active")


def _hook(row: dict[str, Any]) -> _Hook:
    return _Hook(
        id=int(row["id"]),
        topic=str(row.get("topic") or ""),
        delivery_url=str(row.get("delivery_url") or ""),
        status=str(row.get("status") or ""),
    )


class Webhooks:
    """``WebhookSupport`` for WooCommerce over the channel's HTTP client (its auth and rate limit).

    Each change is a DEBUG line with the shop's id; the daemon logs the pass's summary (RegistrationReport).
    """

    def __init__(self, channel: WooCommerceChannel) -> None:
        self.http = channel.http

    def topics(self, flows: Collection[WebhookFlow]) -> list[str]:
        return [topic for topic, flow in TOPICS.items() if flow in flows]

    def authenticate(
        self,
        headers: Mapping[str, str],
        body: bytes,
        credentials: WebhookCredentials,
        *,
        path_token: str | None,
    ) -> Delivery:
        head = {k.lower(): v for k, v in headers.items()}
        sent = head.get("x-wc-webhook-signature", "").strip()
        topic = head.get("x-wc-webhook-topic", "")
        if not sent and not topic and _PING.fullmatch(body.strip()):
            return Delivery(topic="ping", flow=WebhookFlow.ORDERS, delivery_id=None, ping=True)
        if not sent:
            raise DeliveryRejected(RejectReason.BAD_SIGNATURE, "no X-WC-Webhook-Signature header")
        if not credentials.secrets:
            raise DeliveryRejected(RejectReason.BAD_SIGNATURE, "no webhook secret to verify it")
        matches = [
            hmac.compare_digest(signature(s.reveal(), body).encode(), sent.encode())
            for s in credentials.secrets
        ]
        if not any(matches):
            raise DeliveryRejected(RejectReason.BAD_SIGNATURE, "X-WC-Webhook-Signature does not match")
        if not topic:
            raise DeliveryRejected(RejectReason.MALFORMED, "no X-WC-Webhook-Topic header")
        flow = TOPICS.get(topic)
        if flow is None:
            raise DeliveryRejected(
                RejectReason.UNKNOWN_TOPIC, f"topic {topic[:80]!r} is not one we subscribe"
            )
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise DeliveryRejected(RejectReason.MALFORMED, "the body is not JSON") from None
        if not isinstance(payload, dict):
            raise DeliveryRejected(RejectReason.MALFORMED, "the body is not a JSON object")
        ident = payload.get("id")
        resource = (
            str(ident) if isinstance(ident, int) and not isinstance(ident, bool) and ident > 0 else None
        )
        return Delivery(
            topic=topic,
            flow=flow,
            # Not an id of this delivery: WooCommerce derives X-WC-Webhook-Delivery-ID from the webhook and the
            # current second, so two orders placed in one second share it. The receiver recognises repeats
            # by the signed body instead.
            delivery_id=None,
            resource_id=resource,
        )

    async def list_webhooks(self, address_prefix: str) -> list[Subscription]:
        return [h.subscription() for h in await self._ours(address_prefix)]

    async def _ours(self, address_prefix: str) -> list[_Hook]:
        found: list[_Hook] = []
        async for rows in all_pages(self.http, PATH, {}, per_page=100):
            found.extend(_hook(row) for row in rows)
        return [h for h in found if is_ours(h.delivery_url, address_prefix)]

    async def register(
        self, address: str, topics: Sequence[str], credentials: WebhookCredentials, *, address_prefix: str
    ) -> RegistrationReport:
        unknown = [t for t in topics if t not in TOPICS]
        if unknown:
            raise ValueError(f"not WooCommerce webhook topics: {unknown}; known: {sorted(TOPICS)}")
        if topics and not credentials.secrets:
            raise ValueError("WooCommerce webhooks need the secret ffn-sync signs them with")
        secret = credentials.secrets[0].reveal() if credentials.secrets else ""
        # The previous secret is still accepted: a rotation is under way and the shop cannot tell us which
        # secret a webhook has, so each one is given the new secret (a failed PUT fails the pass, and the
        # daemon keeps accepting the old one until a pass succeeds).
        rotating = len(credentials.secrets) > 1

        async def keep(topic: str, hook: _Hook) -> Kept:
            changes: dict[str, Any] = {}
            if hook.delivery_url != address:
                changes["delivery_url"] = address
            if rotating:
                changes["secret"] = secret
            fixed = bool(changes)
            if hook.status == "disabled":
                changes["status"] = "active"
                logger.warning(
                    f"woocommerce webhook {topic} ({hook.id}) was disabled by the shop after failed "
                    "deliveries; re-enabled (check that the shop reaches the webhook address)"
                )
            elif hook.status == "paused":
                logger.warning(
                    f"woocommerce webhook {topic} ({hook.id}) is paused in the shop's settings; left "
                    "paused (set it active there, or turn webhooks off for this channel)"
                )
            subscription = await self._update(hook, changes) if changes else hook.subscription()
            return Kept(subscription, updated=fixed, re_enabled=hook.status == "disabled")

        return await reconcile(
            await self._ours(address_prefix),
            topics,
            address,
            topic_of=lambda h: h.topic,
            address_of=lambda h: h.delivery_url,
            create=lambda topic: self._create(topic, address, secret),
            keep=keep,
            delete=self._delete,
        )

    async def _create(self, topic: str, address: str, secret: str) -> Subscription:
        body = {"name": f"ffn-sync {topic}", "topic": topic, "delivery_url": address, "secret": secret}
        response = await self.http.request("POST", PATH, json=body)
        hook = _hook(decode(response, dict, f"POST {PATH} {topic}"))
        logger.debug(f"woocommerce webhook {topic} created ({hook.id})")
        return hook.subscription()

    async def _update(self, hook: _Hook, changes: dict[str, Any]) -> Subscription:
        path = f"{PATH}/{hook.id}"
        response = await self.http.request("PUT", path, json=changes, idempotent=True)
        updated = _hook(decode(response, dict, f"PUT {path}"))
        what = ", ".join(sorted(changes))
        logger.debug(f"woocommerce webhook {hook.topic} ({hook.id}): {what} set")
        return updated.subscription()

    async def _delete(self, hook: _Hook) -> None:
        path = f"{PATH}/{hook.id}"
        # Webhooks cannot be trashed: without force=true WooCommerce answers 501.
        await self.http.request("DELETE", path, params={"force": "true"}, idempotent=True, ok=(200, 404))
        logger.debug(f"woocommerce webhook {hook.topic} ({hook.id}) removed: no longer configured")
