"""The stock formula case by case: one open order of each kind against an FFN level of 1000, the units it
keeps out of the shop, and the state and reason the order's row holds that make it count (or not).

    shop quantity = max(0, floor(FFN level − reserved) − stock_buffer)

An order reserves from the moment it is read until FFN's own reservation takes over (exported), it is
cancelled, or the gate says never.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from daemon.engine.cycle import CycleCounts
from daemon.engine.flows import orders, stock
from daemon.engine.settings import EligibilityRules
from daemon.model import Address, OrderLine, PaymentState, StockLevel
from daemon.ports import UnreadableOrder
from tests.daemon.engine.conftest import World

LEVEL = 1000
RULES = EligibilityRules(skip_tags=frozenset({"no-ffn"}), import_since=datetime(2026, 1, 1, tzinfo=UTC))
SHIRTS = (OrderLine("l1", "SKU-1", "Shirt", 7, Decimal(10)),)
E_BOOK = OrderLine("l2", "SKU-1", "Shirt (download code)", 100, requires_shipping=False)


def case(
    case_id: str,
    change: dict[str, object],
    reserved: int,
    state: str,
    reason: str | None,
    *,
    rules: EligibilityRules = RULES,
) -> object:
    return pytest.param(change, rules, reserved, state, reason, id=case_id)


CASES = [
    # waiting: not in FFN yet, reserves every line the warehouse ships
    case("unpaid-waits-reserves", {"payment_state": PaymentState.PENDING}, 7, "skipped", "waiting"),
    case("shop-hold-reserves", {"hold": "address check"}, 7, "skipped", "waiting"),
    case("wrong-status-reserves", {"shop_status": "on-hold"}, 7, "skipped", "waiting",
         rules=replace(RULES, statuses=frozenset({"processing"}))),
    case("hold-time-reserves", {}, 7, "pending", None, rules=replace(RULES, hold_minutes=60)),
    case("unpaid-digital-line-not-counted", {"payment_state": PaymentState.PENDING, "lines": (*SHIRTS, E_BOOK)},
         7, "skipped", "waiting"),
    case("unpaid-zero-line-not-counted",
         {"payment_state": PaymentState.PENDING, "lines": (*SHIRTS, replace(SHIRTS[0], line_id="l2", quantity=0))},
         7, "skipped", "waiting"),
    # parked: a mapping refused it; its units stay reserved until someone fixes it
    case("unmapped-shipping-parked-reserves", {"shipping_methods": ("Teleport",)}, 7, "failed",
         "unmapped_shipping_method"),
    case("incomplete-address-parked-reserves", {"shipping_address": Address(last_name="Muster")}, 7, "failed",
         "incomplete_address"),
    case("unknown-country-parked-reserves",
         {"shipping_address": Address(last_name="M", street="W 1", city="K", country_code="Atlantis")}, 7,
         "failed", "unknown_country"),
    # FFN holds it: exported orders reserve nothing here
    case("exported-ffn-holds-it", {}, 0, "synced", None),
    # never: reserves nothing
    case("cancelled-never", {"cancelled": True}, 0, "skipped", "skipped"),
    case("test-order-never", {"test": True}, 0, "skipped", "skipped"),
    case("skip-tag-never", {"tags": ("no-ffn",), "payment_state": PaymentState.PENDING}, 0, "skipped", "skipped"),
    case("before-import-since-never", {"created_at": datetime(2025, 12, 1, tzinfo=UTC)}, 0, "skipped", "skipped"),
    case("digital-only-never", {"lines": (E_BOOK,)}, 0, "skipped", "skipped"),
]  # fmt: skip


async def cycle(world: World) -> None:
    await orders.run(world.ctx, world.ctx.settings.channel("shop"), CycleCounts())
    await stock.run(world.ctx, CycleCounts())


def set_rules(world: World, rules: EligibilityRules, *, buffer: int = 0) -> None:
    shop = replace(world.ctx.settings.channel("shop"), eligibility=rules, stock_buffer=buffer)
    world.ctx.settings = replace(world.ctx.settings, channels=(shop,))


def ffn_level(world: World, level: int) -> None:
    at = world.clock.now() - timedelta(seconds=20)
    world.ffn.stock.append(StockLevel("JFSKU000001", "SKU-1", Decimal(level), version=1, updated_at=at))


@pytest.mark.parametrize(("change", "rules", "reserved", "state", "reason"), CASES)
async def test_each_kind_of_open_order_reserves_what_its_row_says(
    world: World,
    change: dict[str, object],
    rules: EligibilityRules,
    reserved: int,
    state: str,
    reason: str | None,
) -> None:
    set_rules(world, rules)
    ffn_level(world, LEVEL)
    world.order(1, **{"lines": SHIRTS, **change})  # type: ignore[arg-type]

    await cycle(world)

    row = await world.pool.fetchrow(
        "SELECT state, reason_code FROM snapshot WHERE entity = 'order' AND external_id = '1'"
    )
    assert (row["state"], row["reason_code"]) == (state, reason)
    assert world.shop.stock["SKU-1"] == LEVEL - reserved


async def test_an_unreadable_order_reserves_the_lines_that_could_be_read(world: World) -> None:
    set_rules(world, RULES)
    ffn_level(world, LEVEL)
    world.shop.unreadable.append(
        UnreadableOrder("8", "#8", "no address", world.clock.now() - timedelta(minutes=1), lines=SHIRTS)
    )
    await cycle(world)
    row = await world.pool.fetchrow("SELECT state, reason_code FROM snapshot WHERE external_id = '8'")
    assert (row["state"], row["reason_code"]) == ("failed", "unreadable_order")
    assert world.shop.stock["SKU-1"] == LEVEL - 7


@pytest.mark.parametrize(
    ("level", "ordered", "buffer", "expected"),
    [
        pytest.param(Decimal(10), 3, 0, 7, id="level-minus-reserved"),
        pytest.param(Decimal(10), 3, 2, 5, id="buffer-taken-off"),
        pytest.param(Decimal("10.7"), 0, 0, 10, id="fraction-floored"),
        pytest.param(Decimal(10), 12, 0, 0, id="over-reserved-not-negative"),
        pytest.param(Decimal(10), 9, 5, 0, id="buffer-not-below-zero"),
    ],
)
async def test_the_shop_quantity_is_the_floored_level_less_reservations_and_buffer_never_negative(
    world: World, level: Decimal, ordered: int, buffer: int, expected: int
) -> None:
    set_rules(world, RULES, buffer=buffer)
    at = world.clock.now() - timedelta(seconds=20)
    world.ffn.stock.append(StockLevel("JFSKU000001", "SKU-1", level, version=1, updated_at=at))
    if ordered:
        world.order(1, lines=(replace(SHIRTS[0], quantity=ordered),), payment_state=PaymentState.PENDING)
    await cycle(world)
    assert world.shop.stock["SKU-1"] == expected
