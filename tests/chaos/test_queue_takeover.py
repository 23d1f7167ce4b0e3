"""A frozen instance's work in flight is taken over at once, and nothing happens twice.

Two ``ffn-sync run`` processes share one merchant: the first exports and ships, the second stands by.
The first is stopped (SIGSTOP) in the middle of its batches, its claims on the snapshot rows still open
and its pool connections still connected. Postgres ends its idle lease connection after the lease timeout
(5 s at the 1 s intervals of tests/e2e/stack.py); the standby takes the merchant and must take the rows
the frozen one had claimed at once, not after their claims run out (60 s, extended every 20 s while the
work ran). Resumed, the stale process may write nothing: every order is one outbound in FFN and one
fulfilment with one tracking number in the shop.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.chaos.test_queue_restart import ORDERS, spawn_daemon, stop_daemon, wait_for_outbounds
from tests.e2e.stack import PLUS, Stack, stack
from tests.e2e.world import by_number, new_order, outbounds, ref, seed_catalogue, shop_order

# Lease timeout (5 s) + a renewal + the exports, on a loaded machine; the claims the frozen process held
# would keep their orders out of FFN for 40-60 s.
TAKE_OVER_S = 30.0


async def instances_alive(s: Stack) -> int:
    return int(
        await s.db.pool.fetchval(
            "SELECT count(*) FROM instances WHERE heartbeat_at > now() - make_interval(secs => lease_timeout_s)"
        )
    )


async def claimed(s: Stack) -> list[tuple[str, str, str]]:
    rows = await s.db.pool.fetch(
        "SELECT entity, external_id, claimed_by FROM snapshot WHERE claimed_until > now() ORDER BY 1, 2"
    )
    return [(r["entity"], r["external_id"], r["claimed_by"]) for r in rows]


async def ship(s: Stack, numbers: list[str]) -> None:
    found = by_number(await outbounds(s))
    for number in numbers:
        await s.control(
            s.ffn, "POST", f"outbounds/{found[number]['outboundId']}/ship",
            {"packages": 1, "tracking": [f"T-{number}"]},
        )  # fmt: skip


async def placed_orders(s: Stack) -> list[dict[str, Any]]:
    shop = s.shops["shopify-main"]
    await seed_catalogue(s, shop)
    assert await s.settle(1)  # the products are in FFN before any order is read
    await s.runtime.ownership.aclose()  # the daemon processes are the only lease holders from here
    rng = random.Random(47)
    return [await new_order(s, shop, rng) for _ in range(ORDERS)]


async def fulfilments(s: Stack, orders: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Shop order id → the tracking numbers of its fulfilments, repeats included."""
    shop = s.shops["shopify-main"]
    seen: dict[str, list[str]] = {}
    for placed in orders:
        order = await shop_order(s, shop, ref(placed))
        seen[ref(placed)] = [t["number"] for f in order["fulfillments"] for t in f["trackingInfo"]]
    return seen


async def until(check: object, timeout_s: float) -> None:
    started = time.monotonic()
    while not await check():  # type: ignore[operator]
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"not reached within {timeout_s:.0f}s")
        await asyncio.sleep(0.2)


@pytest.mark.timeout(300)
async def test_a_frozen_instance_s_claimed_orders_are_taken_over_at_once_and_done_once(
    tmp_path: Path, pg_dsn: str
) -> None:
    async with stack(tmp_path, pg_dsn, ["shopify"], shop_knobs=PLUS) as s:
        orders = await placed_orders(s)
        # Slow FFN answers keep a batch of creates in flight when the stop lands.
        await s.control(s.ffn, "PUT", "faults", {"rate": 0, "latency_ms": 150})
        frozen = await spawn_daemon(s, tmp_path / "frozen.log")
        standby: asyncio.subprocess.Process | None = None
        try:
            await wait_for_outbounds(s, 20, timeout_s=60)
            early = sorted(by_number(await outbounds(s)))
            await ship(s, early)  # the frozen process is applying these when it stops, or about to
            standby = await spawn_daemon(s, tmp_path / "standby.log")

            async def both_alive() -> bool:
                return await instances_alive(s) == 2

            await until(both_alive, 60)
            await until(lambda: _any(claimed(s)), 30)
            frozen.send_signal(signal.SIGSTOP)
            stopped = time.monotonic()
            in_flight = await claimed(s)
            assert in_flight, "the stop came when nothing was claimed"
            await s.control(s.ffn, "PUT", "faults", {"rate": 0, "latency_ms": 0})

            await wait_for_outbounds(s, ORDERS, timeout_s=120)
            took = time.monotonic() - stopped
            print(
                f"SIGSTOP with {len(in_flight)} row(s) claimed: all {ORDERS} orders in FFN {took:.1f}s later"
            )
            assert took <= TAKE_OVER_S, f"the frozen instance's claimed orders took {took:.1f}s"

            numbers = sorted(by_number(await outbounds(s)))
            await ship(s, [n for n in numbers if n not in early])

            async def all_fulfilled() -> bool:
                return all((await fulfilments(s, orders)).values())

            await until(all_fulfilled, 90)
            frozen.send_signal(signal.SIGCONT)
            await asyncio.sleep(5)  # the resumed process' stale cycles and its next renewals
        finally:
            frozen.send_signal(signal.SIGCONT)
            assert await stop_daemon(frozen) == 0
            if standby is not None:
                assert await stop_daemon(standby) == 0

        assert len(by_number(await outbounds(s))) == ORDERS  # by_number fails on a repeated order
        tracking = await fulfilments(s, orders)
        assert len(tracking) == ORDERS
        twice = {number: t for number, t in tracking.items() if len(t) != 1}
        assert twice == {}, f"orders fulfilled other than once: {twice}"
        for log in ("frozen.log", "standby.log"):
            text = (tmp_path / log).read_text()
            assert "Traceback" not in text and " ERROR " not in text, text[-3000:]
        assert "freed" in (tmp_path / "standby.log").read_text()  # it took the claims, not their expiry


async def _any(rows: object) -> bool:
    return bool(await rows)  # type: ignore[misc]
