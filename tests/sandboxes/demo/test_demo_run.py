"""``ffn-sync demo`` end to end: sandboxes, embedded Postgres, the real daemon, and its summary."""

from __future__ import annotations

import pytest

from sandboxes.demo import DemoOptions, run_demo

pytestmark = pytest.mark.timeout(180)


async def test_demo_moves_orders_shipments_and_stock() -> None:
    summary = await run_demo(DemoOptions(duration_s=15, orders_per_s=2))

    assert summary.problems() == []
    assert summary.orders_created > 0
    assert summary.ffn_outbounds > 0
    assert summary.orders_shipped > 0
    assert summary.stock_writes > 0
    assert summary.dead_letter_count == 0
    assert summary.order_latencies_s
    assert "total" in summary.render()
