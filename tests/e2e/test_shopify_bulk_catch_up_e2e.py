"""Large Shopify catch-ups through the whole daemon: the first import and a resync are read with one bulk
operation each; every order is exported exactly once, the records are the paged read's, and the cursor moves
as after paged reads (later orders are read by the ordinary short windows)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.shopify.bulk_jsonl import query_window
from daemon.engine.flows.orders import order_row
from daemon.engine.reports import resync
from daemon.model import Window
from sandboxes.shopify import SANDBOX_KEY
from sandboxes.shopify.bulk import BulkOperations
from tests.e2e.stack import PLUS, stack
from tests.e2e.world import by_number, new_order, outbounds, seed_catalogue

ORDERS = 300


async def test_first_import_and_resync_are_bulk_reads_without_loss_or_duplicates(
    tmp_path: Path, pg_dsn: str
) -> None:
    # Plus: the short windows after the catch-up re-read the overlap (every order here is seconds old).
    knobs = {"shopify": {**PLUS["shopify"], "bulk_delay_s": 0.2}}
    async with stack(tmp_path, pg_dsn, ["shopify"], shop_knobs=knobs) as s:
        shop = s.shops["shopify-main"]
        bulk = shop.app[SANDBOX_KEY].bulk
        await seed_catalogue(s, shop)
        rng = random.Random(18)
        made = [await new_order(s, shop, rng) for _ in range(ORDERS)]
        made.append(await new_order(s, shop, rng, hold="AWAITING_PAYMENT"))

        await s.settle(2)  # the first import: 7 days back, far over bulk_catch_up_after (6 h)
        exported = by_number(await outbounds(s))
        assert set(exported) == {f"SH-{o['number']}" for o in made[:-1]}
        assert _catch_ups(bulk) == 1 and bulk.operations[1].downloads == 1
        channel = s.runtime.contexts[0].channels["shopify-main"]
        assert channel.transport.throttled == 0

        # The bulk read stored exactly what a paged read of the same orders gives.
        everything = Window(datetime(2020, 1, 1, tzinfo=UTC), datetime.now(UTC) + timedelta(seconds=2))
        paged = {o.order_id: order_row(o).hash async for o in channel.changed_orders(everything)}
        stored = {
            row["external_id"]: row["pulled_hash"]
            for row in await s.db.pool.fetch(
                "SELECT external_id, pulled_hash FROM snapshot WHERE entity = 'order'"
            )
        }
        assert stored == paged and len(stored) == ORDERS + 1

        # Orders after the catch-up come through the ordinary short windows (the cursor moved to the end).
        later = [await new_order(s, shop, rng) for _ in range(3)]
        await s.settle(2)
        assert _catch_ups(bulk) == 1  # (a short window holding 50 orders or more is a bulk read too)
        assert {f"SH-{o['number']}" for o in later} <= set(by_number(await outbounds(s)))

        # A resync two days back: one bulk read again, nothing exported twice, the snapshot unchanged.
        moved = await resync(
            s.db.pool, merchant=None, since=datetime.now(UTC) - timedelta(days=2), flow="orders", channel=None
        )
        assert moved == 1
        await s.settle(1)
        assert _catch_ups(bulk) == 2
        final = by_number(await outbounds(s))  # fails on a duplicate outbound
        assert len(final) == ORDERS + len(later)


def _catch_ups(bulk: BulkOperations) -> int:
    """Bulk operations over a window longer than bulk_catch_up_after (6 h)."""
    spans = []
    for op in bulk.operations.values():
        window = query_window(op.query)
        assert window is not None
        start, end = (datetime.fromisoformat(t.replace("Z", "+00:00")) for t in window)
        spans.append(end - start)
    return sum(span > timedelta(hours=6) for span in spans)
