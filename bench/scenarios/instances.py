"""Instances: three ``ffn-sync run`` processes share one merchant directory and one Postgres.

The merchants are a fleet on ONE set of sandbox processes (``sandboxes.world.fleet``): each has its own
WooCommerce shop (``/shops/{merchant}/``) and its own FFN merchant (an OAuth client each) in the one
WooCommerce and the one FFN sandbox; all instances read the same directory of merchant files. The instances start a few seconds apart (the
later ones take their share by hand-over), orders flow round-robin over the merchants, then one instance
is killed (SIGKILL) and later another is stopped (SIGSTOP) for two intervals and resumed. Measured:
how fast the merchants were balanced, how fast the killed and the frozen instance's merchants ran
elsewhere (the first outbound created in their FFN after the signal: only a survivor can have made it),
the spread of ownership, duplicates (outbounds per shop order and tracking numbers per order), and the
STALLED errors the instances logged (each instance judges only the merchants it owns).
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import os
import random
import re
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from bench.daemon_proc import DaemonProcess, run_once
from bench.probes import STOCK_LEVEL
from bench.report import Table, verdict
from bench.scenarios.common import LAG_RETRY_S, bench_stage
from bench.sizes import Size
from sandboxes.world.catalogue import CreatedOrder, Product, book_stock, create_order, new_catalogue
from sandboxes.world.control import Control
from sandboxes.world.errors import WorldError
from sandboxes.world.fleet import stage_fleet
from sandboxes.world.merchant import Timing
from sandboxes.world.stage import Stage, staged

SHOP = "woocommerce"  # no API budget: what is measured is ownership, not a shop's rate limit
INSTANCES = ("a", "b", "c")
STAGGER_S = 4.0  # between instance starts: the later ones take their share by hand-over
PRODUCTS = 4
POLL_S = 0.25
_STALL = re.compile(r"(\S+ shop=\S+) STALLED: ")
_FREED = re.compile(
    r"freed (\d+) claim\(s\)"
)  # "... ; freed 3 claim(s) left by an earlier holder"  # "orders shop=m0001/woocommerce STALLED: ..."
# merchants, flow interval (s), orders/s over the whole fleet
PLAN = {"tiny": (6, 10.0, 2.0), "small": (30, 10.0, 5.0), "full": (300, 30.0, 10.0)}


@dataclass
class Merchant:
    id: str
    ffn: Control
    shop: Control
    products: list[Product] = field(default_factory=list)
    orders: list[CreatedOrder] = field(default_factory=list)


@dataclass
class Incident:
    name: str
    at: float  # wall clock
    merchants: frozenset[str]
    took_over_s: dict[str, float] = field(default_factory=dict)  # merchant -> first outbound after `at`
    # merchant -> first export of an order that was waiting at `at` (placed before, not yet in FFN): the
    # take-over itself, without the wait for a merchant's next order to arrive
    waiting_s: dict[str, float] = field(default_factory=dict)
    had_waiting: set[str] = field(default_factory=set)
    moved_s: float | None = None  # until every one of them was owned by a live instance again


def _timing(interval_s: float) -> Timing:
    return Timing.every(interval_s, overlap_s=10.0)


def plan_for(size: Size) -> tuple[int, float, float]:
    n, interval, rate = PLAN[size.name]
    return int(os.environ.get("BENCH_INSTANCES_MERCHANTS") or n), interval, rate


async def run(size: Size, wanted: set[str]) -> list[Table]:
    n, interval, rate = plan_for(size)
    async with staged(bench_stage([SHOP], _timing(interval))) as stage:
        fleet = await stage_fleet(stage, n)
        merchants = [Merchant(m.merchant_id, m.ffn, m.shops[SHOP]) for m in fleet.members]
        stage = dataclasses.replace(stage, config_path=fleet.directory, env={**stage.env, **fleet.env})
        await _warm(stage, merchants)
        return [await _measure(stage, merchants, interval, rate)]


async def _warm(stage: Stage, merchants: list[Merchant]) -> None:
    """Products in every shop and in its FFN, stock booked, autopilot on; one ``once`` over the fleet."""
    for m in merchants:
        m.products = await new_catalogue([m.shop], PRODUCTS, f"I{m.id.upper()}")
    for attempt in range(3):
        await asyncio.sleep(LAG_RETRY_S)  # the products flow reads up to its cursor lag before now
        await run_once(stage, f"warmup-products-{attempt}")
        missing = [m.id for m in merchants if not await _products_in_ffn(m)]
        if not missing:
            break
    else:
        raise WorldError(f"products of {len(missing)} merchant(s) never reached FFN, e.g. {missing[0]}")
    for m in merchants:
        await book_stock(m.ffn, [p.sku for p in m.products], STOCK_LEVEL)
        await m.ffn.put("autopilot", {"ship_after_s": 1.0, "partial_ratio": 0.0})
    await run_once(stage, "warmup-stock")


async def _products_in_ffn(m: Merchant) -> bool:
    known = {p.get("merchantSku") for p in await m.ffn.get("products")}
    return {p.sku for p in m.products} <= known


async def _owners(stage: Stage) -> dict[str, str]:
    """merchant -> the live instance owning it (merchants of a dead owner are left out)."""
    rows = await stage.pool.fetch(
        "SELECT o.merchant_id, o.instance_id FROM merchant_owners o JOIN instances i USING (instance_id)"
        " WHERE i.heartbeat_at > now() - make_interval(secs => i.lease_timeout_s)"
        " AND EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.application_name = 'ffn-sync lease ' || i.token)"
    )
    return {str(r["merchant_id"]): str(r["instance_id"]) for r in rows}


async def _instance_of(stage: Stage, pid: int) -> str | None:
    value = await stage.pool.fetchval("SELECT instance_id FROM instances WHERE pid = $1", pid)
    return None if value is None else str(value)


def _spread(owners: dict[str, str]) -> list[int]:
    return sorted(Counter(owners.values()).values(), reverse=True)


async def _wait_balanced(stage: Stage, n: int, alive: int, timeout_s: float) -> float | None:
    started = time.monotonic()
    share = math.ceil(n / alive)
    while time.monotonic() - started < timeout_s:
        spread = _spread(await _owners(stage))
        if sum(spread) == n and len(spread) == alive and spread[0] <= share:
            return time.monotonic() - started
        await asyncio.sleep(POLL_S)
    return None


async def _orders(merchants: list[Merchant], rate: float, stop: asyncio.Event) -> None:
    rng = random.Random(23)
    period, number, next_at = 1.0 / rate, 0, time.monotonic()
    while not stop.is_set():
        m = merchants[number % len(merchants)]
        m.orders.append(await create_order(SHOP, m.shop, rng, m.products, number))
        number += 1
        next_at += period
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))


async def _outbound_times(m: Merchant) -> dict[str, float]:
    """merchantOutboundNumber -> when FFN created the outbound."""
    return {
        str(o["merchantOutboundNumber"]): datetime.fromisoformat(
            str(o["modificationInfo"]["createdAt"])
        ).timestamp()
        for o in await m.ffn.get("outbounds")
    }


def _waiting_exports(m: Merchant, created: dict[str, float], at: float) -> tuple[bool, list[float]]:
    """(any order waiting at ``at``, when those that are in FFN now got there)."""
    by_order = {number.rsplit("-", 1)[-1]: t for number, t in created.items()}  # "WC-123" -> order "123"
    waiting = [o for o in m.orders if o.created_at < at and by_order.get(o.number, at + 1) > at]
    return bool(waiting), [by_order[o.number] for o in waiting if o.number in by_order]


async def _watch_take_over(
    stage: Stage, incident: Incident, victim: str | None, by_id: dict[str, Merchant], timeout_s: float
) -> None:
    """Per merchant of the incident: seconds until the first outbound created after it (if any was due),
    until the first export of an order that was waiting at the signal (the take-over itself, without the
    wait for the merchant's next order), and until all of them had a live owner other than ``victim``."""
    deadline = time.monotonic() + timeout_s
    seen: set[str] = set()  # polled once since the signal: which had an order waiting is known
    while time.monotonic() < deadline and (
        len(incident.took_over_s) < len(incident.merchants)
        or incident.moved_s is None
        or len(incident.waiting_s) < len(incident.had_waiting)
    ):
        if incident.moved_s is None:
            owners = await _owners(stage)
            if all(owners.get(m) not in (None, victim) for m in incident.merchants):
                incident.moved_s = time.time() - incident.at
        for merchant_id in incident.merchants:
            if (
                merchant_id in incident.took_over_s
                and merchant_id in seen
                and (merchant_id in incident.waiting_s or merchant_id not in incident.had_waiting)
            ):
                continue
            seen.add(merchant_id)
            created = await _outbound_times(by_id[merchant_id])
            later = [t for t in created.values() if t > incident.at]
            if later and merchant_id not in incident.took_over_s:
                incident.took_over_s[merchant_id] = min(later) - incident.at
            waiting, exported = _waiting_exports(by_id[merchant_id], created, incident.at)
            if waiting:
                incident.had_waiting.add(merchant_id)
            if exported and merchant_id not in incident.waiting_s:
                incident.waiting_s[merchant_id] = min(exported) - incident.at
        await asyncio.sleep(POLL_S)


async def _measure(stage: Stage, merchants: list[Merchant], interval: float, rate: float) -> Table:
    n = len(merchants)
    by_id = {m.id: m for m in merchants}
    daemons: dict[str, DaemonProcess] = {}
    stop_orders = asyncio.Event()
    orders: asyncio.Task[None] | None = None
    frozen_pid: int | None = None
    incidents: list[Incident] = []
    try:
        for index, name in enumerate(INSTANCES):
            if index:
                await asyncio.sleep(STAGGER_S)
            daemons[name] = DaemonProcess(stage, "run", f"instance-{name}")
        balanced_s = await _wait_balanced(stage, n, len(INSTANCES), timeout_s=6 * interval)
        spread_3 = _spread(await _owners(stage))
        orders = asyncio.create_task(_orders(merchants, rate, stop_orders))
        await asyncio.sleep(2 * interval)

        killed = daemons["a"].process.pid
        victim_id = await _instance_of(stage, killed)
        owners = await _owners(stage)
        incidents.append(
            Incident("kill -9", time.time(), frozenset(m for m, i in owners.items() if i == victim_id))
        )
        os.kill(killed, signal.SIGKILL)
        await _watch_take_over(stage, incidents[-1], victim_id, by_id, timeout_s=4 * interval)
        await _wait_balanced(stage, n, 2, timeout_s=4 * interval)
        spread_2 = _spread(await _owners(stage))
        await asyncio.sleep(interval)

        frozen_pid = daemons["b"].process.pid
        frozen_id = await _instance_of(stage, frozen_pid)
        owners = await _owners(stage)
        lease_timeout = float(
            await stage.pool.fetchval(
                "SELECT lease_timeout_s FROM instances WHERE instance_id = $1", frozen_id
            )
        )
        incidents.append(
            Incident("SIGSTOP", time.time(), frozenset(m for m, i in owners.items() if i == frozen_id))
        )
        os.kill(frozen_pid, signal.SIGSTOP)
        # Long enough for Postgres to end its lease (1 lease timeout) and for a survivor to run every merchant.
        frozen_for = max(3 * lease_timeout, 2 * interval + 5)
        await asyncio.wait_for(
            _watch_take_over(stage, incidents[-1], frozen_id, by_id, timeout_s=frozen_for), frozen_for + 30
        )
        await asyncio.sleep(max(0.0, incidents[-1].at + frozen_for - time.time()))
        os.kill(frozen_pid, signal.SIGCONT)
        frozen_pid = None
        resumed_s = await _wait_balanced(stage, n, 2, timeout_s=6 * interval)
        await asyncio.sleep(2 * interval)
        stop_orders.set()
        await orders
        settled = await _settle(merchants, timeout_s=8 * interval)
        spread_end = _spread(await _owners(stage))
    finally:
        stop_orders.set()
        if orders is not None and not orders.done():
            orders.cancel()
        if frozen_pid is not None:
            os.kill(frozen_pid, signal.SIGCONT)
        for name, daemon in daemons.items():
            if name != "a":
                await daemon.finish(stop=True)
        if "a" in daemons:
            await daemons["a"].finish(timeout_s=10)
    duplicates = await _duplicates(merchants)
    logs = [d.log_path.read_text(errors="replace") for d in daemons.values()]
    fenced = sum(log.count("may no longer hold its lease") for log in logs)
    freed = sum(int(count) for log in logs for count in _FREED.findall(log))
    stalls = _stall_reports(logs)
    return _table(
        n, interval, rate, balanced_s, spread_3, incidents, spread_2, resumed_s, spread_end,
        settled, duplicates, fenced, freed, stalls,
    )  # fmt: skip


def _stall_reports(logs: list[str]) -> tuple[int, int]:
    """(STALLED errors over all instances, flows reported by more than one instance)."""
    by_flow = Counter(flow for log in logs for flow in _STALL.findall(log))
    return sum(by_flow.values()), sum(1 for count in by_flow.values() if count > 1)


async def _settle(merchants: list[Merchant], timeout_s: float) -> bool:
    """Every placed order in FFN and every shipped outbound's tracking number in its shop."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        done = True
        for m in merchants:
            outbounds = await m.ffn.get("outbounds")
            notifications = await m.ffn.get("shipping-notifications")
            if len(outbounds) < len(m.orders) or len(notifications) < len(m.orders):
                done = False
                break
        if done and not await _untracked(merchants):
            return True
        await asyncio.sleep(1.0)
    return False


async def _untracked(merchants: list[Merchant]) -> int:
    missing = 0
    for m in merchants:
        for order in m.orders:
            if not (await m.shop.get(f"orders/{order.id}")).get("tracking_items"):
                missing += 1
    return missing


async def _duplicates(merchants: list[Merchant]) -> tuple[int, int, int]:
    """(outbounds, tracking numbers added twice, orders placed)."""
    outbounds = tracking = placed = 0
    for m in merchants:
        numbers = Counter(str(o["merchantOutboundNumber"]) for o in await m.ffn.get("outbounds"))
        outbounds += sum(c - 1 for c in numbers.values() if c > 1)
        for order in m.orders:
            items = (await m.shop.get(f"orders/{order.id}")).get("tracking_items") or []
            counts = Counter(str(i.get("tracking_number")) for i in items)
            tracking += sum(c - 1 for c in counts.values() if c > 1)
        placed += len(m.orders)
    return outbounds, tracking, placed


def _table(
    n: int,
    interval: float,
    rate: float,
    balanced_s: float | None,
    spread_3: list[int],
    incidents: list[Incident],
    spread_2: list[int],
    resumed_s: float | None,
    spread_end: list[int],
    settled: bool,
    duplicates: tuple[int, int, int],
    fenced: int,
    freed: int,
    stalls: tuple[int, int],
) -> Table:
    bound = 2 * interval
    table = Table(
        "instances",
        f"3 × `ffn-sync run` on one directory of {n} merchant files (a WooCommerce shop and an FFN merchant "
        "each, all on one WooCommerce and one FFN sandbox process), "
        f"every flow every {interval:g} s, {rate:g} orders/s round-robin; instances start {STAGGER_S:g} s "
        "apart, then one is killed (SIGKILL), later another is stopped (SIGSTOP) for 2 intervals + 5 s and resumed.",
    )
    table.add(
        "balanced after the last instance started (s)", balanced_s if balanced_s is not None else "never", ""
    )
    table.add("spread, 3 instances", " / ".join(map(str, spread_3)), f"≤ ⌈{n}/3⌉ = {math.ceil(n / 3)}")
    for incident in incidents:
        values = list(incident.took_over_s.values())
        worst = max(values) if values else None
        table.add(
            f"{incident.name}: merchants run elsewhere after (s, max)",
            worst if worst is not None else "-",
            f"≤ 2 × interval = {bound:g}: {verdict(worst is not None and worst <= bound)}; "
            f"n={len(values)} of {len(incident.merchants)} merchants (those with an order due)",
        )
        waited = list(incident.waiting_s.values())
        slowest = max(waited) if waited else None
        table.add(
            f"{incident.name}: an order waiting at the signal exported after (s, max)",
            slowest if slowest is not None else "-",
            f"≤ 2 × interval = {bound:g}: {verdict(slowest is not None and slowest <= bound)}; "
            f"n={len(waited)} of {len(incident.had_waiting)} merchants with an order waiting at the signal",
        )
        table.add(
            f"{incident.name}: all its merchants owned elsewhere after (s)",
            incident.moved_s if incident.moved_s is not None else "never",
            "lease freed (kill: at once; frozen: lease timeout) + the next renewal",
        )
    table.add("spread, 2 instances", " / ".join(map(str, spread_2)), f"≤ ⌈{n}/2⌉ = {math.ceil(n / 2)}")
    table.add("rebalanced after the resume (s)", resumed_s if resumed_s is not None else "never", "")
    table.add("spread at the end", " / ".join(map(str, spread_end)), "")
    outbounds, tracking, placed = duplicates
    table.add("orders placed / all in FFN and shops", f"{placed} / {'yes' if settled else 'NO'}", "")
    table.add("duplicate outbounds", outbounds, f"0: {verdict(outbounds == 0)}")
    table.add("duplicate tracking numbers (fulfilments)", tracking, f"0: {verdict(tracking == 0)}")
    table.add("cycles stopped by the lease fence", fenced, "the resumed instance's stale cycles")
    table.add(
        "claims of a killed or frozen holder freed by the new owner",
        freed,
        "taken at once instead of after the claim's 60 s",
    )
    stalled, repeated = stalls
    table.add(
        "STALLED errors logged, all instances / flows reported by several",
        f"{stalled} / {repeated}",
        f"each instance judges only its own merchants: {verdict(repeated == 0)}",
    )
    return table
