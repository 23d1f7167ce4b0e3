"""One measured backlog of the throughput scenario, and the median and spread over several.

What one run measures (the sandboxes date every request they get, ``LoggedExchange.at``):
- the **export span**: from the daemon's first read of the shop's orders to the last outbound create FFN
  received: shop → daemon → FFN, without the process start-up (imports, database, lease) that a running
  daemon pays once, not per order. Orders/s end-to-end = orders exported / this span.
- the CPU each process spent inside that span (``CpuTrace``): the daemon's, and the sandboxes' own, so a
  slow sandbox shows as such;
- for comparison with earlier results: the whole process (start-up included), and the older figure, the
  process minus a baseline ``once`` that found nothing to do (start-up and empty polls subtracted).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bench.cpu import CpuMeter, CpuTrace
from bench.daemon_proc import DaemonProcess, ProcessCost
from bench.probes import log_position, synced_orders, traffic
from bench.scenarios.common import LAG_RETRY_S, THROUGHPUT_SHOP
from sandboxes.world.catalogue import Product, place_orders
from sandboxes.world.errors import WorldError
from sandboxes.world.shops import SHOPS, ffn_is_read, ffn_is_write
from sandboxes.world.stage import Stage

RUNS_ENV = "BENCH_THROUGHPUT_RUNS"
DAEMON = "daemon"


@dataclass(frozen=True)
class Run:
    orders: int
    exported: int
    load: float  # 1-minute load average when the run started
    process: ProcessCost
    baseline: ProcessCost
    span_s: float  # first shop order read → last FFN create
    creates_s: float  # first → last FFN create
    span_cpu_s: dict[str, float]  # per process (daemon, sandboxes), inside the span
    postgres_cpu_s: float  # the whole `once`
    ffn_writes: int
    ffn_reads: int
    placed_s: float

    @property
    def rate(self) -> float:
        return self.exported / max(1e-9, self.span_s)

    @property
    def process_rate(self) -> float:
        return self.exported / self.process.wall_s

    @property
    def marginal_rate(self) -> float:
        wall, _ = self.process.minus(self.baseline)
        return self.exported / wall

    def per_k(self, name: str) -> float:
        return self.span_cpu_s.get(name, 0.0) / max(1, self.exported) * 1000

    @property
    def marginal_per_k(self) -> float:
        _, cpu = self.process.minus(self.baseline)
        return cpu / max(1, self.exported) * 1000


def runs_wanted(default: int) -> int:
    raw = os.environ.get(RUNS_ENV, "")
    try:
        return max(1, int(raw)) if raw else default
    except ValueError:
        raise WorldError(f"{RUNS_ENV}={raw!r}: give a whole number of runs, e.g. 3") from None


async def measure(
    stage: Stage, products: Sequence[Product], count: int, baseline: ProcessCost, log_name: str
) -> Run:
    """Place ``count`` orders, then one ``ffn-sync once`` exports them; what it cost and how long it took."""
    shop = stage.shops[THROUGHPUT_SHOP]
    since = {"ffn": await log_position(stage.ffn), THROUGHPUT_SHOP: await log_position(shop)}
    placed = time.monotonic()
    await place_orders(shop, THROUGHPUT_SHOP, products, count)
    placed_s = time.monotonic() - placed
    await asyncio.sleep(LAG_RETRY_S)
    sandboxes = {f"{kind} sandbox": sandbox.pid for kind, sandbox in stage.sandboxes.items()}
    postgres = CpuMeter({}, stage.work_dir / "state" / "pgdata")
    trace = CpuTrace()
    for name, pid in sandboxes.items():
        trace.watch(name, pid)
    load = os.getloadavg()[0]
    postgres.start()
    trace.start()
    try:
        proc = DaemonProcess(stage, "once", log_name)
        trace.watch(DAEMON, proc.process.pid)
        cost = await proc.finish()
    finally:
        await trace.stop()
    postgres_cpu = postgres.stop().get("postgres", 0.0)
    if cost.exit_code != 0:
        raise WorldError(f"`ffn-sync once` exited {cost.exit_code}; log {proc.log_path}:\n{proc.log_tail()}")
    ffn_calls = await traffic(stage.ffn, since["ffn"])
    shop_calls = await traffic(shop, since[THROUGHPUT_SHOP])
    creates = [e["at"] for e in ffn_calls if ffn_is_write(e) and e["path"].endswith("/outbounds")]
    reads = [
        e["at"] for e in shop_calls if SHOPS[THROUGHPUT_SHOP].is_read(e) and e["path"].endswith("/orders")
    ]
    if not creates or not reads:
        raise WorldError(
            f"the run sent {len(creates)} creates after {len(reads)} order reads; log {proc.log_path}"
        )
    first, last = min(reads), max(creates)
    names = [DAEMON, *sandboxes]
    return Run(
        orders=count,
        exported=await synced_orders(stage),
        load=load,
        process=cost,
        baseline=baseline,
        span_s=last - first,
        creates_s=last - min(creates),
        span_cpu_s={name: trace.between(name, first, last) for name in names},
        postgres_cpu_s=postgres_cpu,
        ffn_writes=sum(1 for e in ffn_calls if ffn_is_write(e)),
        ffn_reads=sum(1 for e in ffn_calls if ffn_is_read(e)),
        placed_s=placed_s,
    )


@dataclass
class Spread:
    """Median and range of one figure over the runs, as the table shows it."""

    values: list[float] = field(default_factory=list)

    @classmethod
    def of(cls, runs: Sequence[Run], figure: Callable[[Run], float]) -> Spread:
        return cls([figure(run) for run in runs])

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def __str__(self) -> str:
        text = _num(self.median)
        if len(self.values) > 1:
            text += f" ({_num(min(self.values))}–{_num(max(self.values))})"
        return text


def _num(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.2f}"
