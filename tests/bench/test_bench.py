"""The benchmark harness at a tiny size, so it cannot rot; plus its arithmetic on fixed inputs."""

from __future__ import annotations

import pytest

from bench.cli import render, run_scenarios
from bench.report import Table
from bench.scenarios.ratelimit import Sample, _table
from bench.sizes import SIZES


@pytest.mark.timeout(180)
async def test_throughput_and_idle_resync_at_tiny_size() -> None:
    tables = await run_scenarios("tiny", ["throughput", "idle"])

    by_name = {table.scenario: dict((m, v) for m, v, _ in table.rows) for table in tables}
    assert set(by_name) == {"throughput", "idle"}, [t.render() for t in tables]
    assert by_name["throughput"]["orders exported"] == "20 / 20", tables[0].render()
    assert float(by_name["throughput"]["FFN writes per order"]) == pytest.approx(1.0)
    assert by_name["idle"]["writes to the shop"] == "0"
    assert by_name["idle"]["writes to FFN"] == "0"
    text = render(tables, "python -m bench --size tiny", 1.0)
    assert "cores usable" in text and "### throughput" in text and "### idle" in text


@pytest.mark.timeout(180)
async def test_calls_per_order_at_tiny_size() -> None:
    [table] = await run_scenarios("tiny", ["calls"])
    rows = dict((m, v) for m, v, _ in table.rows)
    for kind in ("shopware", "woocommerce"):
        assert rows[f"{kind}: orders exported"] == "10 / 10", table.render()
        assert rows[f"{kind}: shipments written back"] == "10 / 10", table.render()
        # One create per order; the feeds a run polls come on top.
        assert 1.0 <= float(rows[f"{kind}: FFN calls per exported order"]) < 2.0, table.render()
    assert any("write-back, shop:" in note for note in table.notes)


def test_rate_limit_share_counts_the_bucket_drain_and_only_the_busy_span() -> None:
    samples = [
        Sample(at=0.0, requests=5, throttled=0, spent=100.0, available=2000.0, restore_rate=100.0),
        Sample(at=1.0, requests=5, throttled=0, spent=100.0, available=2000.0, restore_rate=100.0),
        Sample(at=2.0, requests=15, throttled=0, spent=1600.0, available=500.0, restore_rate=100.0),
        Sample(at=11.0, requests=60, throttled=1, spent=2500.0, available=500.0, restore_rate=100.0),
        Sample(at=12.0, requests=60, throttled=1, spent=2500.0, available=2000.0, restore_rate=100.0),
    ]
    table = _table_rows(_table(SIZES["tiny"], 10, 10, samples))

    # busy from t=1 to t=11: 10 s x 100/s restored + 1500 drained from the bucket = 2500 offered; 2400 spent
    assert table["Shopify busy span (s)"] == "10.00"
    assert table["share of restore rate used"] == "96%"
    assert table["THROTTLED answers"] == "1 (1.8%)"


def _table_rows(table: Table) -> dict[str, str]:
    return {metric: value for metric, value, _ in table.rows}


def test_tables_render_as_markdown() -> None:
    table = Table("demo", "what was measured")
    table.add("orders/s", 512.345, "≥ 500: met")
    table.add("count", 12345)
    table.notes.append("a note")
    text = table.render()
    assert "| orders/s | 512 | ≥ 500: met |" in text
    assert "| count | 12,345 |  |" in text
    assert text.endswith("- a note\n")
