"""The gate's three answers: export, wait (reserves stock), never (reserves nothing)."""

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


@pytest.mark.parametrize(
    ("change", "rules", "expected", "words"),
    [
        ({}, RULES, Export, ""),
        ({"payment_state": PaymentState.PENDING}, RULES, Wait, "waiting for payment"),
        ({"hold": "fraud review"}, RULES, Wait, "held in the shop: fraud review"),
        ({"shop_status": "on-hold"}, replace(RULES, statuses=frozenset({"processing"})), Wait, "on-hold"),
        ({}, replace(RULES, hold_minutes=120), Wait, "held until"),
        ({"tags": ("no-ffn",), "payment_state": PaymentState.PENDING}, RULES, Never, "skipped: tag no-ffn"),
        ({"test": True}, RULES, Never, "test order"),
        ({"cancelled": True}, RULES, Never, "cancelled"),
        ({"created_at": datetime(2025, 12, 1, tzinfo=UTC)}, RULES, Never, "before import_since"),
        (
            {"lines": (OrderLine("l1", "EBOOK", "E-Book", 1, requires_shipping=False),)},
            RULES,
            Never,
            "no lines the warehouse ships",
        ),
        ({"shop_status": "completed"}, replace(RULES, statuses=frozenset({"processing"})), Never, "finished"),
        (
            {"shop_status": "checkout-draft", "payment_state": PaymentState.PENDING},
            replace(RULES, statuses=frozenset({"processing"})),
            Never,
            "checkout draft",
        ),
    ],
)
def test_each_order_gets_one_typed_decision_with_its_reason(
    change: dict[str, object], rules: EligibilityRules, expected: type, words: str
) -> None:
    decision: GateDecision = decide(replace(ORDER, **change), rules, NOW, "woocommerce")  # type: ignore[arg-type]
    assert isinstance(decision, expected)
    assert words in getattr(decision, "reason", "")
    assert reserves_stock(decision) is (expected is not Never)


def test_a_time_hold_names_its_release_and_a_payment_wait_does_not() -> None:
    held = decide(ORDER, replace(RULES, hold_minutes=120), NOW)
    unpaid = decide(replace(ORDER, payment_state=PaymentState.PENDING), RULES, NOW)
    assert isinstance(held, Wait) and held.until == ORDER.created_at + timedelta(minutes=120)
    assert isinstance(unpaid, Wait) and unpaid.until is None
