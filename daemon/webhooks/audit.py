"""``ffn-sync check``'s verdict on one channel's webhooks as the shop lists them: each wanted topic at exactly
the address the registration uses (scheme, host, port, path and Shopware's token), active.

Addresses are compared whole, never printed (Shopware's carries the token).
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from daemon.webhooks.types import Subscription

DEFAULT_PORTS = {"http": 80, "https": 443}
FIXED_BY_REGISTRATION = "the next registration pass fixes it: at start, on reload or hourly"


def same_address(a: str, b: str) -> bool:
    """Equal as URLs: scheme and host case-insensitive, a default port written or not; the path (with any
    token) and the query exactly."""
    x, y = urlsplit(a), urlsplit(b)
    try:
        ports = (
            (x.port or DEFAULT_PORTS.get(x.scheme.lower())),
            (y.port or DEFAULT_PORTS.get(y.scheme.lower())),
        )
    except ValueError:  # a port that is no number
        return a == b
    return (
        x.scheme.lower() == y.scheme.lower()
        and (x.hostname or "") == (y.hostname or "")  # hostname is lower-cased by urlsplit
        and ports[0] == ports[1]
        and x.path == y.path
        and x.query == y.query
    )


def audit(wanted: Sequence[str], subscriptions: Sequence[Subscription], expected: str) -> str:
    """One line: how many wanted topics are registered at ``expected`` and active, and what is off."""
    at_address = [s for s in subscriptions if same_address(s.address, expected)]
    good = {s.topic for s in at_address if s.active}
    listed = {s.topic for s in subscriptions}
    missing = [t for t in wanted if t not in listed]
    wrong = [t for t in wanted if t in listed and t not in {s.topic for s in at_address}]
    disabled = [t for t in wanted if t not in good and any(s.topic == t and not s.active for s in at_address)]
    unwanted = sorted({s.topic for s in subscriptions if s.topic not in wanted})
    detail = f"{len(good & set(wanted))}/{len(wanted)} topics registered and active"
    if missing:
        detail += f"; missing: {', '.join(missing)}"
    if wrong:
        detail += f"; wrong address: {', '.join(wrong)} ({FIXED_BY_REGISTRATION})"
    if disabled:
        detail += f"; disabled by the shop: {', '.join(disabled)} (run re-enables them)"
    if unwanted:
        detail += f"; no longer wanted: {', '.join(unwanted)} ({FIXED_BY_REGISTRATION})"
    return detail
