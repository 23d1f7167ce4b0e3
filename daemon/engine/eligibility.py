"""Which shop orders go to the warehouse, and when. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from daemon.engine.settings import EligibilityRules
from daemon.model import ShopOrder


@dataclass(frozen=True, slots=True)
class Eligible:
    pass


@dataclass(frozen=True, slots=True)
class Skip:
    """Not for the warehouse (now); re-evaluated whenever the order changes."""

    reason: str


@dataclass(frozen=True, slots=True)
class Wait:
    """Eligible later without any change in the shop (hold time)."""

    until: datetime
    reason: str


Decision = Eligible | Skip | Wait


def decide(order: ShopOrder, rules: EligibilityRules, now: datetime) -> Decision:
    if order.cancelled:
        return Skip("cancelled in the shop")
    if order.hold is not None:
        # The shop's own verdict; a waiting order comes back through the pull when the shop releases it.
        return Skip(order.hold.reason)
    if rules.import_since and order.created_at < rules.import_since:
        return Skip(
            f"created {order.created_at:%Y-%m-%d %H:%M} before import_since {rules.import_since:%Y-%m-%d}"
        )
    paid = order.payment_state in rules.payment_states
    by_method = order.payment_method is not None and order.payment_method in rules.payment_methods
    if not (paid or by_method):
        return Skip(
            f"payment {order.payment_state.value} (method {order.payment_method or '-'}) not eligible"
        )
    if rules.statuses and (order.shop_status or "") not in rules.statuses:
        return Skip(f"shop status {order.shop_status!r} not in the allowed statuses")
    tagged = sorted(set(order.tags) & rules.skip_tags)
    if tagged:
        return Skip(f"tagged {', '.join(tagged)}")
    if not any(line.requires_shipping and line.quantity > 0 for line in order.lines):
        return Skip("no shippable lines (digital or empty)")
    release = order.created_at + timedelta(minutes=rules.hold_minutes)
    if now < release:
        return Wait(release, f"held until {release:%H:%M:%S} ({rules.hold_minutes:g} min after creation)")
    return Eligible()
