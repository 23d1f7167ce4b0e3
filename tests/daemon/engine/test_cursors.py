from __future__ import annotations

from datetime import UTC, datetime, timedelta

from daemon.engine.cursors import OverlapSchedule, next_window
from daemon.engine.cycle import CycleCounts
from daemon.engine.flows import orders
from daemon.engine.settings import CursorSettings
from tests.daemon.engine.conftest import World

T = datetime(2026, 5, 4, 10, 0, 0, 700000, tzinfo=UTC)
S = CursorSettings(overlap_s=120, lag_s=5, first_window_s=3600, max_window_s=86400)


def test_window_ends_on_a_whole_second_behind_the_lag_and_starts_an_overlap_before_the_cursor() -> None:
    window = next_window(T - timedelta(minutes=1), T, S)
    assert window is not None
    assert window.end == datetime(2026, 5, 4, 9, 59, 55, tzinfo=UTC)
    assert window.start == T - timedelta(minutes=3)


def test_first_window_and_long_catch_ups_are_cut_to_the_maximum_window() -> None:
    first = next_window(None, T, S)
    assert first is not None and (first.end - first.start) == timedelta(hours=1)
    long_ago = next_window(T - timedelta(days=3), T, S)
    assert long_ago is not None and long_ago.end - long_ago.start == timedelta(days=1)


def test_nothing_to_read_while_the_lag_covers_the_cursor() -> None:
    assert next_window(T, T, CursorSettings(overlap_s=0, lag_s=5)) is None


def test_the_full_overlap_is_re_read_once_per_overlap_period() -> None:
    schedule = OverlapSchedule()
    assert schedule.overlap_s("shop", "orders", T, S) == 120
    assert schedule.overlap_s("shop", "orders", T + timedelta(seconds=30), S) == 1
    assert schedule.overlap_s("shop", "products", T + timedelta(seconds=30), S) == 120
    assert schedule.overlap_s("shop", "orders", T + timedelta(seconds=121), S) == 120


async def test_a_late_committed_order_is_caught_by_the_next_full_overlap(world: World) -> None:
    channel = world.ctx.settings.channel("shop")  # overlap 60 s, lag 5 s
    await orders.run(world.ctx, channel, CycleCounts())
    world.clock.advance(20)
    world.order(9, updated_at=world.clock.now() - timedelta(seconds=40))  # behind the cursor
    await orders.run(world.ctx, channel, CycleCounts())
    assert world.ffn.outbounds == {}  # cheap cycle: only the cursor's own second re-read
    world.clock.advance(45)
    await orders.run(world.ctx, channel, CycleCounts())
    assert len(world.ffn.outbounds) == 1
