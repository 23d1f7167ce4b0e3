"""The order gate: which shop orders go to the warehouse, when, and which hold stock meanwhile. Pure.

Every order gets one of three decisions, and the stock formula follows from it:

- ``Export``: send it to FFN now (from then on FFN's own reservation holds its units).
- ``Wait``: the warehouse ships it once the order changes in the shop (paid, released from a hold, moved to
  an exporting status) or ``until`` passes; its lines keep their units out of every shop meanwhile.
- ``Never``: FFN will not ship it as it stands (cancelled, test, skip-tagged, before ``import_since``,
  nothing the warehouse ships); it reserves nothing. Re-evaluated when the order changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from daemon.engine.settings import EligibilityRules
from daemon.model import ShopOrder


@dataclass(frozen=True, slots=True)
class Export:
    reason: str = "eligible"


@dataclass(frozen=True, slots=True)
class Wait:
    """Eligible later; ``until`` set when time alone releases it (hold_minutes), else when the order changes."""

    reason: str
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Never:
    """Not for the warehouse as the order stands; reserves no stock."""

    reason: str


GateDecision = Export | Wait | Never


# Statuses in which the shop considers an order done: one not exported by then is never shipped by FFN.
FINISHED_STATUSES: dict[str, frozenset[str]] = {
    "woocommerce": frozenset({"completed"}),
    "shopware": frozenset({"completed"}),
    "shopify": frozenset({"FULFILLED", "RESTOCKED"}),
}
# Not an order yet: WooCommerce's block checkout keeps a draft while the customer types and deletes it when
# abandoned (its own stock hold counts only unexpired drafts), so a draft must not reserve stock for good.
DRAFT_STATUSES: dict[str, frozenset[str]] = {"woocommerce": frozenset({"checkout-draft"})}


def decide(order: ShopOrder, rules: EligibilityRules, now: datetime, kind: str = "") -> GateDecision:
    if order.cancelled:
        return Never("cancelled in the shop")
    if order.test:
        return Never("a test order")
    if order.shop_status in DRAFT_STATUSES.get(kind, ()):
        return Never("a checkout draft, not an order yet (decided again when the customer completes it)")
    if rules.import_since and order.created_at < rules.import_since:
        return Never(
            f"created {order.created_at:%Y-%m-%d %H:%M} before import_since {rules.import_since:%Y-%m-%d}"
        )
    tagged = sorted(set(order.tags) & rules.skip_tags)
    if tagged:
        return Never(f"skipped: tag {', '.join(tagged)}")
    if not any(line.requires_shipping and line.quantity > 0 for line in order.lines):
        return Never("no lines the warehouse ships (digital, at another location, or empty)")
    if order.hold:
        return Wait(f"held in the shop: {order.hold}")
    paid = order.payment_state in rules.payment_states
    by_method = order.payment_method is not None and order.payment_method in rules.payment_methods
    if not (paid or by_method):
        return Wait(
            f"waiting for payment (payment {order.payment_state.value}, method {order.payment_method or '-'})"
        )
    if rules.statuses and (order.shop_status or "") not in rules.statuses:
        if order.shop_status in FINISHED_STATUSES.get(kind, ()):
            return Never(f"finished in the shop without FFN (status {order.shop_status!r})")
        return Wait(
            f"waiting for an exporting shop status (is {order.shop_status!r}, exports {sorted(rules.statuses)})"
        )
    release = order.created_at + timedelta(minutes=rules.hold_minutes)
    if now < release:
        return Wait(f"held until {release:%H:%M:%S} ({rules.hold_minutes:g} min after creation)", release)
    return Export()


def reserves_stock(decision: GateDecision) -> bool:
    """Whether the order's lines are kept out of the shops while it is not in FFN."""
    return not isinstance(decision, Never)
