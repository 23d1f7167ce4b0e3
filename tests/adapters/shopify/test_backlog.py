"""A backlogged channel runs at Shopify's restore rate with zero THROTTLED answers.

``pytest -s tests/adapters/shopify/test_backlog.py`` prints the share of the restore rate used, from the
sandbox's own cost accounting over simulated time.
"""

from __future__ import annotations

from datetime import timedelta

from daemon.model import Window
from tests.adapters.shopify.conftest import START, Shop
from tests.adapters.shopify.test_throttling import seed_orders

BACKLOG = 2000


async def test_backlog_of_2000_orders_is_pulled_without_being_throttled(shop: Shop) -> None:
    seed_orders(shop, BACKLOG)
    bucket = shop.sandbox.bucket
    bucket.reset()
    started = shop.clock.monotonic()
    channel = shop.channel()
    try:
        count = 0
        async for _ in channel.changed_orders(Window(START, START + timedelta(hours=2))):
            count += 1
    finally:
        await channel.aclose()
    elapsed = shop.clock.monotonic() - started
    assert count == BACKLOG
    assert bucket.stats.throttled == 0
    assert channel.transport.throttled == 0
    # What the restore rate paid for: the actual cost minus what the full bucket lent at the start.
    lent = bucket.maximum - bucket.available()
    share = (bucket.stats.actual_total - lent) / (bucket.restore_rate * elapsed)
    print(
        f"\nbacklog {BACKLOG} orders: {bucket.stats.requests} requests, actual cost {bucket.stats.actual_total:.0f}, "
        f"simulated {elapsed:.1f}s, restore-rate share {share:.1%} "
        f"(raw actual/(rate*time) {bucket.stats.actual_total / (bucket.restore_rate * elapsed):.1%})"
    )
