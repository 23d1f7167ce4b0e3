"""The gate, as a table: each order gets one typed decision (export, wait, never) and a reason that says why.

Rows are read top-down like ``decide``: what makes an order "never" wins over a hold, a hold over payment,
payment over the shop status, the status over the hold time. Shop kinds differ only in which statuses
mean "finished in the shop" and which are a checkout draft.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from daemon.engine.eligibility import Export, GateDecision, Never, Wait, decide, reserves_stock
from daemon.engine.settings import EligibilityRules
from daemon.model import OrderLine, PaymentState, ShopOrder

NOW = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
RULES = EligibilityRules(
    skip_tags=frozenset({"no-ffn"}), import_since=datetime(2026, 1, 1, tzinfo=UTC), statuses=frozenset()
)
ORDER = ShopOrder(
    order_id="1",
    number="#1",
    created_at=NOW - timedelta(hours=1),
    updated_at=NOW - timedelta(hours=1),
    currency="EUR",
    total=Decimal("20"),
    payment_state=PaymentState.PAID,
    shop_status="processing",
    lines=(OrderLine("l1", "MUG", "Mug", 2),),
)
DIGITAL = OrderLine("l2", "EBOOK", "E-Book", 1, requires_shipping=False)
STATUSES = {  # the exporting status each kind's config typically names
    "woocommerce": "processing",
    "shopware": "in_progress",
    "shopify": "UNFULFILLED",
}


def exporting(kind: str) -> EligibilityRules:
    return replace(RULES, statuses=frozenset({STATUSES[kind]}))


def case(
    case_id: str,
    change: dict[str, object],
    expected: type,
    reason: str,
    *,
    rules: EligibilityRules = RULES,
    kind: str = "woocommerce",
) -> object:
    return pytest.param(change, rules, kind, expected, reason, id=case_id)


GATE = [
    # export
    case("paid-exports", {}, Export, "eligible"),
    case("unpaid-but-payment-method-exports", {"payment_state": PaymentState.PENDING, "payment_method": "cod"},
         Export, "eligible", rules=replace(RULES, payment_methods=frozenset({"cod"}))),
    case("authorized-exports-when-configured", {"payment_state": PaymentState.AUTHORIZED}, Export, "eligible",
         rules=replace(RULES, payment_states=frozenset({PaymentState.PAID, PaymentState.AUTHORIZED}))),
    case("mixed-lines-export-the-physical-one", {"lines": (DIGITAL, ORDER.lines[0])}, Export, "eligible"),
    case("other-tags-export", {"tags": ("vip",)}, Export, "eligible"),
    case("any-status-exports-without-a-status-rule", {"shop_status": "whatever"}, Export, "eligible"),
    case("hold-time-passed-exports", {}, Export, "eligible", rules=replace(RULES, hold_minutes=30)),
    # wait
    case("unpaid-waits", {"payment_state": PaymentState.PENDING}, Wait,
         "waiting for payment (payment pending, method -)"),
    case("authorized-waits-by-default", {"payment_state": PaymentState.AUTHORIZED, "payment_method": "card"},
         Wait, "waiting for payment (payment authorized, method card)"),
    case("unlisted-payment-method-waits", {"payment_state": PaymentState.PENDING, "payment_method": "invoice"},
         Wait, "method invoice", rules=replace(RULES, payment_methods=frozenset({"cod"}))),
    case("shop-hold-waits", {"hold": "fraud review"}, Wait, "held in the shop: fraud review"),
    case("shop-hold-before-payment", {"hold": "fraud review", "payment_state": PaymentState.PENDING},
         Wait, "held in the shop: fraud review"),
    case("hold-time-waits", {}, Wait, "held until 11:00:00 (120 min after creation)",
         rules=replace(RULES, hold_minutes=120)),
    case("payment-before-hold-time", {"payment_state": PaymentState.PENDING}, Wait, "waiting for payment",
         rules=replace(RULES, hold_minutes=120)),
    case("woocommerce-on-hold-waits-for-status", {"shop_status": "on-hold"}, Wait,
         "waiting for an exporting shop status (is 'on-hold', exports ['processing'])",
         rules=exporting("woocommerce")),
    case("shopware-open-waits-for-status", {"shop_status": "open"}, Wait, "is 'open'",
         rules=exporting("shopware"), kind="shopware"),
    case("shopify-no-status-waits", {"shop_status": None}, Wait, "is None",
         rules=exporting("shopify"), kind="shopify"),
    case("shopify-completed-is-not-finished-there", {"shop_status": "completed"}, Wait, "is 'completed'",
         rules=exporting("shopify"), kind="shopify"),
    case("shopware-draft-is-not-a-draft-there", {"shop_status": "checkout-draft"}, Wait,
         "is 'checkout-draft'", rules=exporting("shopware"), kind="shopware"),
    # boundaries: created exactly at import_since counts; a hold ends at its instant
    case("created-at-import-since-exports", {"created_at": datetime(2026, 1, 1, tzinfo=UTC)}, Export, "eligible"),
    case("hold-ends-exactly-now-exports", {}, Export, "eligible", rules=replace(RULES, hold_minutes=60)),
    case("hold-a-minute-longer-waits", {}, Wait, "held until 10:01:00", rules=replace(RULES, hold_minutes=61)),
    # never
    case("cancelled-never", {"cancelled": True}, Never, "cancelled in the shop"),
    case("cancelled-beats-hold", {"cancelled": True, "hold": "fraud review"}, Never, "cancelled in the shop"),
    case("test-never", {"test": True}, Never, "a test order"),
    case("woocommerce-draft-never", {"shop_status": "checkout-draft", "payment_state": PaymentState.PENDING},
         Never, "a checkout draft, not an order yet", rules=exporting("woocommerce")),
    case("before-import-since-never", {"created_at": datetime(2025, 12, 1, tzinfo=UTC)}, Never,
         "created 2025-12-01 00:00 before import_since 2026-01-01"),
    case("skip-tag-never-even-unpaid", {"tags": ("no-ffn", "vip"), "payment_state": PaymentState.PENDING},
         Never, "skipped: tag no-ffn"),
    case("digital-only-never", {"lines": (DIGITAL,)}, Never, "no lines the warehouse ships"),
    case("zero-quantity-never", {"lines": (replace(ORDER.lines[0], quantity=0),)}, Never,
         "no lines the warehouse ships"),
    case("no-lines-never", {"lines": ()}, Never, "no lines the warehouse ships"),
    case("woocommerce-completed-never", {"shop_status": "completed"}, Never,
         "finished in the shop without FFN (status 'completed')", rules=exporting("woocommerce")),
    case("shopware-completed-never", {"shop_status": "completed"}, Never, "status 'completed'",
         rules=exporting("shopware"), kind="shopware"),
    case("shopify-fulfilled-never", {"shop_status": "FULFILLED"}, Never, "status 'FULFILLED'",
         rules=exporting("shopify"), kind="shopify"),
    case("shopify-restocked-never", {"shop_status": "RESTOCKED"}, Never, "status 'RESTOCKED'",
         rules=exporting("shopify"), kind="shopify"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "rules", "kind", "expected", "reason"), GATE)
def test_the_gate_gives_each_order_one_decision_and_its_reason(
    change: dict[str, object], rules: EligibilityRules, kind: str, expected: type, reason: str
) -> None:
    decision: GateDecision = decide(replace(ORDER, **change), rules, NOW, kind)  # type: ignore[arg-type]
    assert isinstance(decision, expected), decision
    assert reason in decision.reason
    # Export and Wait keep the order's units out of the shops until FFN holds them; Never frees them.
    assert reserves_stock(decision) is (expected is not Never)


@pytest.mark.parametrize(
    ("rules", "change", "until"),
    [
        pytest.param(
            replace(RULES, hold_minutes=120), {}, ORDER.created_at + timedelta(minutes=120), id="hold-time"
        ),
        pytest.param(RULES, {"payment_state": PaymentState.PENDING}, None, id="payment"),
        pytest.param(RULES, {"hold": "address check"}, None, id="shop-hold"),
        pytest.param(exporting("woocommerce"), {"shop_status": "on-hold"}, None, id="status"),
    ],
)
def test_only_a_hold_time_releases_by_time_every_other_wait_by_a_change_of_the_order(
    rules: EligibilityRules, change: dict[str, object], until: datetime | None
) -> None:
    decision = decide(replace(ORDER, **change), rules, NOW, "woocommerce")  # type: ignore[arg-type]
    assert isinstance(decision, Wait) and decision.until == until
