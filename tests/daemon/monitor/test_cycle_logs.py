"""What an operator tailing the journal sees for a cycle with a parked record (human and JSON)."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
import orjson
import pytest

from daemon.clock import FakeClock
from daemon.engine.cycle import CycleCounts, run_cycle
from daemon.engine.flows import orders
from daemon.logging_setup import configure_logging
from daemon.model import Address, OrderLine, PaymentState, ShopOrder
from daemon.monitor import MetricsObserver, SyncMetrics
from tests.daemon.monitor.conftest import merchant_context

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
pytestmark = pytest.mark.usefixtures("restore_logging")


SUMMARY = re.compile(
    r"^orders shop=acme/shopify-main pulled=2 changed=2 pushed=1 skipped=0 failed=1 retried=0 lag=5s in \d+\.\d\ds$"
)


def order(n: int, created: datetime, shipping: str) -> ShopOrder:
    return ShopOrder(
        order_id=str(n),
        number=f"#{n}",
        created_at=created,
        updated_at=created,
        currency="EUR",
        total=Decimal("20"),
        payment_state=PaymentState.PAID,
        shipping_address=Address(
            last_name="Muster", street="Weg 1", zip="50667", city="Köln", country_code="DE"
        ),
        shipping_methods=(shipping,),
        lines=(OrderLine("l1", "SKU-1", "Shirt", 2, Decimal("10")),),
    )


async def one_cycle(pool: asyncpg.Pool, fmt: str) -> tuple[list[str], SyncMetrics]:
    out = io.StringIO()
    configure_logging(fmt, stream=out, environ={"JOURNAL_STREAM": "8:1"})  # as under systemd
    clock = FakeClock(T0)
    metrics = SyncMetrics()
    ctx, shop, _ = merchant_context(pool, clock, MetricsObserver(metrics, clock=clock))
    await pool.execute(
        "INSERT INTO sku_map (merchant_id, sku, jfsku) VALUES ('acme', 'SKU-1', 'JFSKU000001')"
    )
    shop.put(order(1, T0 - timedelta(minutes=1), "Standard"))
    shop.put(order(2, T0 - timedelta(minutes=1), "Teleport"))
    channel = ctx.settings.channel("shopify-main")

    async def body(counts: CycleCounts) -> None:
        await orders.run(ctx, channel, counts)

    await run_cycle(ctx, "shopify-main", "orders", 60, body)
    return out.getvalue().splitlines(), metrics


async def test_human_lines_of_a_cycle_with_a_parked_order(pool: asyncpg.Pool) -> None:
    lines, metrics = await one_cycle(pool, "human")
    warnings = [line for line in lines if line.startswith("WARNING")]
    infos = [line for line in lines if line.startswith("INFO")]
    (warning,) = warnings
    head, _, reason = warning.partition(" | ")
    assert head == "WARNING acme/shopify-main/orders record=#2"
    assert reason.startswith("parked order #2: ")
    assert "'Teleport'" in reason and "S-#2" in reason and reason.endswith("[unmapped_shipping_method]")
    head, _, summary = infos[-1].partition(" | ")
    assert head == "INFO    acme/shopify-main/orders"
    assert SUMMARY.match(summary), summary

    labels = {"merchant": "acme", "channel": "shopify-main", "flow": "orders"}
    sample = metrics.registry.get_sample_value
    assert sample("ffn_sync_records_failed_total", labels) == 1
    assert sample("ffn_sync_records_pushed_total", labels) == 1
    assert sample("ffn_sync_cycles_total", {**labels, "outcome": "failed"}) == 1
    assert (
        sample("ffn_sync_order_export_latency_seconds_count", {"merchant": "acme", "channel": "shopify-main"})
        == 1
    )
    assert (
        sample("ffn_sync_order_export_latency_seconds_sum", {"merchant": "acme", "channel": "shopify-main"})
        == 60
    )


async def test_json_lines_carry_the_same_fields(pool: asyncpg.Pool) -> None:
    lines, _ = await one_cycle(pool, "json")
    documents = [orjson.loads(line) for line in lines]
    (warning,) = [d for d in documents if d["level"] == "WARNING"]
    assert (warning["merchant"], warning["channel"], warning["flow"], warning["record"]) == (
        "acme",
        "shopify-main",
        "orders",
        "#2",
    )
    assert (
        warning["message"].startswith("parked order #2: ")
        and "[unmapped_shipping_method]" in warning["message"]
    )
    summary = documents[-1]
    assert (summary["level"], summary["merchant"], summary["channel"], summary["flow"]) == (
        "INFO",
        "acme",
        "shopify-main",
        "orders",
    )
    assert SUMMARY.match(summary["message"]), summary["message"]
