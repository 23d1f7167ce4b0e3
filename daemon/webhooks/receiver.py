"""The webhook receiver: ``POST /webhooks/{merchant}/{channel}[/{token}]``.

It authenticates each delivery through the shop adapter, answers at once (the shops give up after a few
seconds and count that as a failure), and only nudges the channel's flow: the payload is never used as data.
Every refusal is a 4xx, a metric and never a trigger; its WARNING (with the source address) is rate-limited
(``rejects``).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from aiohttp import web
from loguru import logger

from daemon.clock import SYSTEM_CLOCK, Clock
from daemon.config.webhooks import WebhooksConfig
from daemon.monitor.metrics import SyncMetrics, default_metrics
from daemon.secrets import Secret
from daemon.webhooks.endpoint import Endpoint, RecentDeliveries
from daemon.webhooks.rejects import RejectLog
from daemon.webhooks.types import DeliveryRejected, RejectReason

STATUS_BY_REASON = {
    RejectReason.BAD_SIGNATURE: 401,
    RejectReason.UNKNOWN_TOPIC: 400,
    RejectReason.MALFORMED: 400,
    RejectReason.TOO_LARGE: 413,
    RejectReason.UNKNOWN_CHANNEL: 404,
}
_MAX_LOGGED_NAME = 64  # path parts of unknown channels are the sender's text: keep the line short

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Trigger = Callable[[str], bool]
Accepted = Callable[[Endpoint, datetime], None]


def source_address(peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The address to log: the peer, or — only when the peer is a trusted proxy — the nearest untrusted hop
    of its ``X-Forwarded-For`` (anything further left may be forged by the client)."""
    if peer is None:
        return "unknown"
    if not forwarded_for or not _is_trusted(peer, trusted):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer


def _is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


class WebhookReceiver:
    """Serves the current endpoints; ``serve`` swaps them (start and every reload) without a restart."""

    def __init__(
        self,
        config: WebhooksConfig,
        *,
        trigger: Trigger,
        on_accepted: Accepted | None = None,
        metrics: SyncMetrics | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.config = config
        self.trigger = trigger
        self.on_accepted = on_accepted
        self.metrics = metrics or default_metrics()
        self.clock = clock
        self.trusted = tuple(ipaddress.ip_network(p, strict=False) for p in config.trusted_proxies)
        self.endpoints: dict[tuple[str, str], Endpoint] = {}
        self.rejects = RejectLog(clock)

    def serve(self, endpoints: Iterable[Endpoint]) -> None:
        """Replace the served endpoints; a channel that stays keeps its memory of recent delivery ids."""
        previous = self.endpoints
        current: dict[tuple[str, str], Endpoint] = {}
        for endpoint in endpoints:
            key = (endpoint.merchant, endpoint.channel)
            old = previous.get(key)
            endpoint.recent = (
                old.recent
                if old is not None
                else RecentDeliveries(self.config.duplicate_window_s, clock=self.clock)
            )
            current[key] = endpoint
        self.endpoints = current

    def make_app(self) -> web.Application:
        # aiohttp refuses a larger body while reading it (413), whatever Content-Length claimed.
        app = web.Application(client_max_size=self.config.max_body_bytes)
        app.router.add_post("/webhooks/{merchant}/{channel}", self.handle)
        app.router.add_post("/webhooks/{merchant}/{channel}/{token}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.Response:
        merchant, channel = request.match_info["merchant"], request.match_info["channel"]
        source = source_address(request.remote, request.headers.get("X-Forwarded-For"), self.trusted)
        endpoint = self.endpoints.get((merchant, channel))
        if endpoint is None:
            name = f"{merchant[:_MAX_LOGGED_NAME]!r}/{channel[:_MAX_LOGGED_NAME]!r}"
            return self._refuse(
                None, source, RejectReason.UNKNOWN_CHANNEL, f"no channel {name} with webhooks on"
            )
        tokens = endpoint.credentials.tokens
        if tokens and not _token_matches(request.match_info.get("token"), tokens):
            # The token is in the address: a caller without it is refused before its body is read.
            return self._refuse(
                endpoint, source, RejectReason.BAD_SIGNATURE, "the token in the address does not match"
            )
        limit = self.config.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            return self._refuse(endpoint, source, RejectReason.TOO_LARGE, f"{request.content_length} bytes")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._refuse(endpoint, source, RejectReason.TOO_LARGE, f"over {limit} bytes")
        try:
            delivery = endpoint.support.authenticate(
                request.headers, body, endpoint.credentials, path_token=request.match_info.get("token")
            )
        except DeliveryRejected as exc:
            return self._refuse(endpoint, source, exc.reason, exc.detail)
        except Exception as exc:
            # An adapter bug, not the sender's fault: 500 makes the shop retry; polling covers the gap.
            logger.opt(exception=exc).error(
                "webhook for {}/{} from {}: authentication crashed", merchant, channel, source
            )
            return web.Response(status=500)
        if delivery.ping:  # a vendor's test call: unsigned, so it says nothing about the webhooks' health
            logger.debug("webhook test call for {}/{} from {} answered", merchant, channel, source)
            return web.Response(status=200)
        now = self.clock.now()
        m = self.metrics
        m.channels.delivered((merchant, channel), delivery.topic, now.timestamp())
        if self.on_accepted is not None:
            self.on_accepted(endpoint, now)
        # A repeat is a known delivery id or a known body: Shopify's id header is not signed (a captured
        # delivery replayed under a fresh id has the same body), and a vendor's retry resends both.
        seen_id = delivery.delivery_id is not None and endpoint.recent.seen_before(
            f"id:{delivery.delivery_id}"
        )
        seen_body = delivery.same_body_same_event and endpoint.recent.seen_before(
            f"body:{hashlib.sha256(body).hexdigest()}"
        )
        if seen_id or seen_body:
            m.channels.duplicate((merchant, channel))
            logger.debug("webhook {} for {}/{}: duplicate, nothing to do", delivery.topic, merchant, channel)
            return web.Response(status=200)
        job = endpoint.nudge(delivery) if delivery.flow in endpoint.flows else None
        triggered = job is not None and self.trigger(job)
        logger.debug(
            "webhook {} for {}/{}{}{}",
            delivery.topic,
            merchant,
            channel,
            f" (shop id {delivery.resource_id[:_MAX_LOGGED_NAME]})" if delivery.resource_id else "",
            f": {job} runs now" if triggered else ": no flow to run",
        )
        return web.Response(status=200)

    def _refuse(
        self, endpoint: Endpoint | None, source: str, reason: RejectReason, detail: str
    ) -> web.Response:
        merchant, channel = (endpoint.merchant, endpoint.channel) if endpoint is not None else ("-", "-")
        self.metrics.channels.rejected((merchant, channel), reason.value)
        where = f"{merchant}/{channel}" if endpoint is not None else "an unknown channel"
        self.rejects.refused(where, source, reason, detail)
        return web.Response(status=STATUS_BY_REASON.get(reason, 400))


def _token_matches(given: str | None, tokens: Sequence[Secret]) -> bool:
    if given is None:
        return False
    candidate = given.encode()
    # Every token compared, in constant time: the answer's timing says nothing about either.
    return sum(hmac.compare_digest(candidate, t.reveal().encode()) for t in tokens) > 0
