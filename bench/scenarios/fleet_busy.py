"""The fleet's second phase: 5 % of the merchants get orders (every shop of theirs), the rest stay idle.

Measured: order → FFN latency of the busy merchants' orders (the shop's confirmation to the outbound's
``createdAt`` in that merchant's FFN account, both on this machine's clock), the daemon's CPU share while
orders flow, and that the idle merchants stay idle: no outbound and no write of any kind in their FFN
accounts or shops during the phase (reads are their polls).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from bench.report import Table
from sandboxes.world.catalogue import CreatedOrder, Product, bounded, new_catalogue, order_stream
from sandboxes.world.errors import WorldError
from sandboxes.world.fleet import Fleet, Member
from sandboxes.world.shops import SHOPS, ffn_is_write

BUSY_SHARE = 0.05
PRODUCTS = 4
ORDERS_PER_S = 5.0  # over all busy merchants together


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


@dataclass
class BusyPhase:
    fleet: Fleet
    busy_s: float
    patience_s: float = 180.0  # how long the checks wait for the daemon's pace (a products run, the orders)
    products: dict[str, list[Product]] = field(default_factory=dict)
    rows: list[tuple[str, object, str]] = field(default_factory=list)

    @property
    def busy(self) -> list[Member]:
        count = max(1, math.ceil(len(self.fleet.members) * BUSY_SHARE))
        return self.fleet.members[:count]

    @property
    def idle(self) -> list[Member]:
        return self.fleet.members[len(self.busy) :]

    async def prepare(self) -> None:
        """Before the daemon starts: the busy merchants' catalogues (their products flow takes them to FFN)."""
        for member in self.busy:
            self.products[member.merchant_id] = await new_catalogue(
                member.shops.values(), PRODUCTS, prefix=member.merchant_id.upper()
            )

    async def run(self, cpu_s: Callable[[], float]) -> None:
        """While the daemon runs (after the idle window): orders for the busy merchants, then the checks."""
        await self._products_in_ffn()
        marks = [
            mark for marks in await bounded([partial(self._marks, m) for m in self.idle]) for mark in marks
        ]
        created: list[CreatedOrder] = []
        by_merchant: dict[str, list[CreatedOrder]] = {}
        cpu_0, t_0 = cpu_s(), time.monotonic()
        streams = []
        rate = ORDERS_PER_S / len(self.busy)
        for index, member in enumerate(self.busy):
            mine: list[CreatedOrder] = []
            by_merchant[member.merchant_id] = mine
            streams.append(
                order_stream(
                    member.shops,
                    self.products[member.merchant_id],
                    rate,
                    t_0 + self.busy_s,
                    mine,
                    seed=index,
                    announce=False,
                )
            )
        await asyncio.gather(*streams)
        for orders in by_merchant.values():
            created.extend(orders)
        latencies = await self._latencies(by_merchant, deadline=time.monotonic() + self.patience_s)
        cpu, wall = cpu_s() - cpu_0, time.monotonic() - t_0
        idle_writes = sum(await bounded([partial(self._writes_since, *mark) for mark in marks]))
        arrived = [v for v in latencies if v is not None]
        self.rows = [
            ("busy merchants (orders at the shops)", f"{len(self.busy)} ({len(created)} orders)", ""),
            (
                f"orders in FFN within {self.patience_s:.0f} s after the stream",
                f"{len(arrived)} / {len(created)}",
                "",
            ),
            ("order → FFN latency p50 / p95 / max (s)", _seconds(arrived), ""),
            ("daemon CPU of one core while orders flow", f"{cpu / wall:.0%}", ""),
            ("writes to idle merchants' FFN accounts and shops", idle_writes, "0 expected"),
        ]

    def table(self, n: int, interval_note: str) -> Table:
        table = Table(
            "fleet (5 % busy)",
            f"Then {len(self.busy)} of the {n} merchants get {ORDERS_PER_S:g} new paid orders/s between them (every "
            f"shop of theirs) for {self.busy_s:.0f} s, in the same `ffn-sync run`; {interval_note}.",
        )
        for metric, value, note in self.rows:
            table.add(metric, value, note)
        return table

    async def _products_in_ffn(self) -> None:
        for member in self.busy:
            wanted = {p.sku for p in self.products[member.merchant_id]}
            deadline = time.monotonic() + self.patience_s
            while True:
                known = {p.get("merchantSku") for p in await member.ffn.get("products")}
                if wanted <= known:
                    break
                if time.monotonic() > deadline:
                    raise WorldError(
                        f"merchant {member.merchant_id}: {len(wanted - known)} products never reached its FFN "
                        f"account within {self.patience_s:.0f} s"
                    )
                await asyncio.sleep(1.0)

    async def _marks(self, member: Member) -> list[tuple[Member, str | None, int]]:
        """Where each of the idle merchant's request logs stands now (kind None: its FFN account)."""
        marks: list[tuple[Member, str | None, int]] = [(member, None, (await member.ffn.requests(10**12))[0])]
        for kind, control in member.shops.items():
            marks.append((member, kind, (await control.requests(10**12))[0]))
        return marks

    async def _writes_since(self, member: Member, kind: str | None, since: int) -> int:
        control = member.ffn if kind is None else member.shops[kind]
        _, entries = await control.requests(since)
        is_write = ffn_is_write if kind is None else SHOPS[kind].is_write
        return sum(1 for entry in entries if is_write(entry))

    async def _latencies(
        self, by_merchant: dict[str, list[CreatedOrder]], deadline: float
    ) -> list[float | None]:
        members = {m.merchant_id: m for m in self.busy}
        while True:
            found: dict[str, dict[str, float]] = {}
            for merchant_id, member in members.items():
                found[merchant_id] = {
                    str(o["merchantOutboundNumber"]): datetime.fromisoformat(
                        o["modificationInfo"]["createdAt"]
                    ).timestamp()
                    for o in await member.ffn.get("outbounds")
                }
            latencies: list[float | None] = []
            for merchant_id, orders in by_merchant.items():
                for order in orders:
                    number = SHOPS[order.kind].order_prefix + order.number.lstrip("#")
                    at = found[merchant_id].get(number)
                    latencies.append(None if at is None else at - order.created_at)
            if None not in latencies or time.monotonic() > deadline:
                return latencies
            await asyncio.sleep(1.0)


def _seconds(values: list[float]) -> str:
    if not values:
        return "none arrived"
    return f"{_quantile(values, 0.5):.1f} / {_quantile(values, 0.95):.1f} / {max(values):.1f}"
