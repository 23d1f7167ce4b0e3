"""What the receiver serves per shop channel: the adapter's authentication, the credentials, and the nudge.

The wiring builds one ``Endpoint`` per channel with webhooks on (at start and on every reload); the
receiver only looks them up by ``(merchant, channel)``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from daemon.clock import SYSTEM_CLOCK, Clock
from daemon.webhooks.types import Delivery, WebhookCredentials, WebhookFlow, WebhookSupport

# Enough for a burst of several minutes of a busy shop; older ids fall out first (a replay that old is
# answered, and at worst costs one extra read of the shop).
MAX_REMEMBERED_DELIVERIES = 10_000


class RecentDeliveries:
    """Delivery ids seen in the last ``window_s`` seconds, at most ``limit`` of them (oldest dropped first)."""

    def __init__(
        self, window_s: float, *, limit: int = MAX_REMEMBERED_DELIVERIES, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self.window_s = window_s
        self.limit = limit
        self.clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def seen_before(self, delivery_id: str) -> bool:
        """True when ``delivery_id`` came within the window; otherwise remembers it and says False."""
        now = self.clock.now().timestamp()
        horizon = now - self.window_s
        while self._seen:
            oldest, at = next(iter(self._seen.items()))
            if at >= horizon:
                break
            del self._seen[oldest]
        if delivery_id in self._seen:
            return True
        self._seen[delivery_id] = now
        if len(self._seen) > self.limit:
            self._seen.popitem(last=False)
        return False

    def __len__(self) -> int:
        return len(self._seen)


Nudge = Callable[[Delivery], str | None]
"""Ask the channel's flow the delivery names to read up to now on its next run; returns the job to trigger
(None: the channel has no such flow, e.g. products on a channel that is not the product master)."""


@dataclass
class Endpoint:
    merchant: str
    channel: str
    kind: str
    support: WebhookSupport
    credentials: WebhookCredentials
    flows: frozenset[WebhookFlow]
    nudge: Nudge
    recent: RecentDeliveries = field(default_factory=lambda: RecentDeliveries(900.0))

    def __repr__(self) -> str:  # the credentials stay out of every repr, even as Secret(...)
        return f"Endpoint({self.merchant}/{self.channel}, kind={self.kind}, flows={sorted(self.flows)})"

    @property
    def path(self) -> str:
        return f"/webhooks/{self.merchant}/{self.channel}"
