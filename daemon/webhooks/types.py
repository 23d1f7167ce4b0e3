"""The contract between the webhook receiver (daemon) and each shop adapter's ``webhooks`` module.

A delivery is never trusted as data: the adapter only authenticates it and says which flow it concerns
(and, where the vendor names it, the order or product id); the flow then reads the shop through its API
as always. Each shop adapter provides ``adapters/<kind>/webhooks.py`` with a class ``Webhooks`` built as
``Webhooks(channel)`` from the channel object the wiring built, implementing ``WebhookSupport``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, TypeVar

from daemon.secrets import Secret


class WebhookFlow(StrEnum):
    """The flow a delivery nudges."""

    ORDERS = "orders"
    PRODUCTS = "products"


class RejectReason(StrEnum):
    """Why a delivery was refused (a metric label and the WARNING line's reason)."""

    BAD_SIGNATURE = "bad_signature"  # missing or wrong HMAC / URL token
    UNKNOWN_TOPIC = "unknown_topic"  # a topic we never subscribed to
    MALFORMED = "malformed"  # headers or body not in the vendor's shape
    TOO_LARGE = "too_large"  # over the receiver's body limit (checked by the receiver)
    UNKNOWN_CHANNEL = "unknown_channel"  # no such merchant/channel, or webhooks off for it (receiver)


class DeliveryRejected(Exception):
    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Delivery:
    """An authenticated delivery, reduced to what the daemon acts on."""

    topic: str  # the vendor's topic, e.g. "orders/create", "order.updated", "checkout.order.placed"
    flow: WebhookFlow
    # The vendor's id of this delivery, for duplicate detection (Shopify X-Shopify-Webhook-Id, WooCommerce
    # X-WC-Webhook-Delivery-ID); None when the vendor sends none.
    delivery_id: str | None
    # The order's or product's id in the shop, when the delivery names it: named in the receiver's DEBUG
    # line, so a delivery can be traced to the run it started. Never used as data (the run reads the shop).
    resource_id: str | None = None
    # The delivery announces a record just created (Shopify orders/create): a lagging search may miss it,
    # so a nudged read that finds nothing new looks once more (daemon.engine.nudges).
    new_record: bool = False
    # False where two distinct events can have the same body (Shopify's fulfillment_orders/hold_released
    # carries only the fulfillment order's id and status, so a second hold and release of it within the
    # duplicate window is the same body): repeats are then recognised by the delivery id alone.
    same_body_same_event: bool = True
    # A vendor's test call, not an event (WooCommerce pings a new webhook with ``webhook_id=N``): the
    # receiver answers 2xx and triggers nothing. Unsigned, so it must not count as a healthy delivery.
    ping: bool = False


@dataclass(frozen=True, slots=True)
class WebhookCredentials:
    """What authenticates deliveries of one channel.

    ``secrets``: HMAC keys, current first, then the previous one during a rotation (Shopify: the app's
    client secret from the config; WooCommerce: the secret ffn-sync generated and registered).
    ``token``: Shopware (unsigned webhooks): the random per-channel token carried in the URL path;
    ``previous_token``: the one it replaces, accepted until the shop's webhooks carry the new one.
    The first secret and ``token`` are what gets registered.
    """

    secrets: tuple[Secret, ...] = ()
    token: Secret | None = None
    previous_token: Secret | None = None

    @property
    def tokens(self) -> tuple[Secret, ...]:
        return tuple(t for t in (self.token, self.previous_token) if t is not None)


@dataclass(frozen=True, slots=True)
class Subscription:
    """One webhook registered at the shop."""

    topic: str
    address: str
    remote_id: str
    active: bool  # False: the shop disabled it (e.g. after failed deliveries)


@dataclass(frozen=True, slots=True)
class RegistrationReport:
    """The result of one idempotent registration pass."""

    subscriptions: tuple[Subscription, ...]
    created: tuple[str, ...] = field(default=())  # topics
    updated: tuple[str, ...] = field(default=())  # address or secret fixed
    re_enabled: tuple[str, ...] = field(default=())  # disabled by the shop, switched on again
    removed: tuple[str, ...] = field(default=())  # ours, no longer wanted


class WebhookSupport(Protocol):
    """What a shop adapter offers for webhooks (``adapters/<kind>/webhooks.py``: ``Webhooks(channel)``)."""

    def topics(self, flows: Collection[WebhookFlow]) -> list[str]:
        """The vendor topics to subscribe for these flows."""
        ...

    def authenticate(
        self,
        headers: Mapping[str, str],
        body: bytes,
        credentials: WebhookCredentials,
        *,
        path_token: str | None,
    ) -> Delivery:
        """Verify a delivery as the vendor signs it (constant-time compares) and classify it.

        Raises ``DeliveryRejected`` (BAD_SIGNATURE, UNKNOWN_TOPIC, MALFORMED). ``headers`` are
        case-insensitive. ``path_token``: the token segment of the URL, if any (Shopware).
        """
        ...

    async def list_webhooks(self, address_prefix: str) -> list[Subscription]:
        """Our subscriptions at the shop: those whose address starts with ``address_prefix``."""
        ...

    async def register(
        self, address: str, topics: Sequence[str], credentials: WebhookCredentials, *, address_prefix: str
    ) -> RegistrationReport:
        """Make the shop's subscriptions match: create missing topics at ``address``, fix a changed address
        or secret, re-enable ones the shop disabled, delete ours (under ``address_prefix``) no longer in
        ``topics``. Idempotent: a second call changes nothing."""
        ...


def is_ours(address: str, address_prefix: str) -> bool:
    """Whether a registered address belongs to a channel: the prefix itself or a path below it, so the
    channel ``shop`` never claims the webhooks of its sibling ``shop2``."""
    prefix = address_prefix.rstrip("/")
    return address == prefix or address.startswith(prefix + "/")


H = TypeVar("H")


@dataclass(frozen=True, slots=True)
class Kept:
    """What an adapter made of a subscription it keeps for its topic (``reconcile``'s ``keep``)."""

    subscription: Subscription
    updated: bool = False  # address or secret fixed
    re_enabled: bool = False


async def reconcile(
    ours: Sequence[H],
    topics: Sequence[str],
    address: str,
    *,
    topic_of: Callable[[H], str],
    address_of: Callable[[H], str],
    create: Callable[[str], Awaitable[Subscription]],
    keep: Callable[[str, H], Awaitable[Kept]],
    delete: Callable[[H], Awaitable[None]],
) -> RegistrationReport:
    """The registration pass every shop shares: per wanted topic keep one of ours (the one at ``address``
    if any), delete its extra copies, create what is missing, and delete ours whose topic is no longer
    wanted. What "keeping" needs (fix the address or secret, re-enable) is the adapter's ``keep``."""
    kept: list[Subscription] = []
    created: list[str] = []
    updated: list[str] = []
    re_enabled: list[str] = []
    removed: list[str] = []
    for topic in topics:
        existing = [h for h in ours if topic_of(h) == topic]
        chosen = next((h for h in existing if address_of(h) == address), existing[0] if existing else None)
        for extra in existing:
            if extra is not chosen:
                await delete(extra)
                removed.append(topic)
        if chosen is None:
            kept.append(await create(topic))
            created.append(topic)
            continue
        result = await keep(topic, chosen)
        kept.append(result.subscription)
        if result.updated:
            updated.append(topic)
        if result.re_enabled:
            re_enabled.append(topic)
    for hook in ours:
        if topic_of(hook) not in topics:
            await delete(hook)
            removed.append(topic_of(hook))
    return RegistrationReport(
        subscriptions=tuple(kept),
        created=tuple(created),
        updated=tuple(updated),
        re_enabled=tuple(re_enabled),
        removed=tuple(removed),
    )
