"""Fleet: N merchants (3 shops each) in one ``ffn-sync run`` over an idle world, then 5 % of them busy.

The world builder's fleet mode stages them on ONE set of sandbox processes (one FFN, one per shop kind) and
one Postgres, each merchant with its own FFN account (OAuth client, consent), its own shops and its own
merchant file, as an operator with many merchants on one machine would run them. Intervals are the
production ones divided by ``SCALE``, so N merchants poll as often as ``SCALE`` × N would in production
(``BENCH_FLEET_SCALE=1``: production intervals). Measured from outside the
daemon: start-up to its "ffn-sync started" line, CPU (``/proc``) and finished cycles (``/metrics``) over an
idle window after a warm-up, RSS, Postgres connections, log lines written while idle, and the scheduler's
lateness (a run's start minus its planned fire time; p99 from ``/metrics`` over the idle window) and
skipped runs.

``BENCH_FLEET_DISTINCT_HOSTS=1``: each merchant's shops at a loopback address of their own (127.1.0.N, the
shop sandboxes answering there too), as real shops are each their own host: the daemon then keeps a
connection per shop instead of reusing a few dozen for the whole fleet. Everything else is the same.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from loguru import logger

from bench import promtext
from bench.daemon_proc import DaemonProcess
from bench.report import Table, verdict
from bench.scenarios.common import bench_stage
from bench.scenarios.fleet_busy import BusyPhase
from bench.sizes import Size
from sandboxes.world.errors import WorldError
from sandboxes.world.fleet import stage_fleet
from sandboxes.world.merchant import Timing
from sandboxes.world.stage import Stage, staged

# Production intervals ÷ SCALE. BENCH_FLEET_SCALE=1: the production intervals themselves, as the fleet targets
# (1,000 merchants, ~95 empty polls/s) are stated.
SCALE = float(os.environ.get("BENCH_FLEET_SCALE") or 10.0)
DISTINCT_HOSTS = os.environ.get("BENCH_FLEET_DISTINCT_HOSTS", "") not in ("", "0")
PRODUCTION = Timing.production()
# merchants, warm-up s, idle window s
PLAN = {"tiny": (10, 15.0, 20.0), "small": (100, 40.0, 60.0), "full": (1000, 120.0, 300.0)}
BUSY_S = {"tiny": 10.0, "small": 30.0, "full": 60.0}  # how long the busy merchants' orders flow
STARTED = "ffn-sync started"
LATENESS = "ffn_sync_scheduler_lateness_seconds"
SKIPPED = "ffn_sync_scheduler_skipped_runs_total"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _timing() -> Timing:
    p = PRODUCTION
    return dataclasses.replace(
        p,
        orders_s=p.orders_s / SCALE,
        products_s=p.products_s / SCALE,
        stock_s=p.stock_s / SCALE,
        shop_stock_s=(p.shop_stock_s or p.stock_s) / SCALE,
        shipments_s=p.shipments_s / SCALE,
        status_s=p.status_s / SCALE,
        reconcile_s=p.reconcile_s / SCALE,
    )


def merchants_for(size: Size) -> int:
    return int(os.environ.get("BENCH_FLEET_MERCHANTS") or PLAN[size.name][0])


async def run(size: Size, wanted: set[str]) -> list[Table]:
    n = merchants_for(size)
    _, warmup_s, idle_s = PLAN[size.name]
    options = bench_stage(None, _timing())
    # Oversale: the busy merchants' orders need their products in FFN, not booked stock.
    options = dataclasses.replace(
        options,
        metrics=True,
        merchant=dataclasses.replace(options.merchant, oversale=True),
        shop_hosts=n if DISTINCT_HOSTS else 0,
    )
    async with staged(options) as stage:
        staging_0 = time.monotonic()
        fleet = await stage_fleet(stage, n, distinct_hosts=DISTINCT_HOSTS)
        staging_s = time.monotonic() - staging_0
        # The busy merchants' products reach FFN with their first products run, within one interval.
        busy = BusyPhase(fleet, BUSY_S[size.name], patience_s=options.merchant.timing.products_s + 60)
        await busy.prepare()
        stage = dataclasses.replace(stage, config_path=fleet.directory, env={**stage.env, **fleet.env})
        idle = await _measure(stage, n, warmup_s, idle_s, busy.run)
        sandboxes = " / ".join(f"{kind} {_rss_mb(s.pid):.0f}" for kind, s in stage.sandboxes.items())
        busy.rows += [
            ("staging the fleet: FFN client + consent + file per merchant (s)", staging_s, ""),
            ("RSS of the one set of sandbox processes at the end (MB)", sandboxes, f"{n} tenants each"),
        ]
        return [idle, busy.table(n, f"production intervals ÷ {SCALE:.0f}")]


async def _measure(
    stage: Stage,
    n: int,
    warmup_s: float,
    idle_s: float,
    then: Callable[[Callable[[], float]], Awaitable[None]],
) -> Table:
    """The idle window; ``then`` runs next in the same daemon run (given the daemon's CPU seconds so far)."""
    daemon = DaemonProcess(stage, "run", "fleet")
    pid = daemon.process.pid
    try:
        startup_s = await _wait_started(daemon, timeout_s=120.0 + n * 0.2)
        await asyncio.sleep(warmup_s)  # first runs spread over one interval, first windows read
        metrics_0 = await _metrics(stage)
        cycles_0, cpu_0, lines_0, t_0 = (
            await _cycles(stage),
            _cpu_s(pid),
            _lines(daemon.log_path),
            time.monotonic(),
        )
        await asyncio.sleep(idle_s)
        cycles_1, cpu_1, lines_1, t_1 = (
            await _cycles(stage),
            _cpu_s(pid),
            _lines(daemon.log_path),
            time.monotonic(),
        )
        metrics_1 = await _metrics(stage)
        rss_mb = _rss_mb(pid)
        tcp = tcp_connections(pid)
        connections = await stage.pool.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
            " AND application_name LIKE 'ffn-sync%'"
        )
        cycles, cpu, wall = cycles_1 - cycles_0, cpu_1 - cpu_0, t_1 - t_0
        per_cycle_ms = cpu / cycles * 1000 if cycles else float("nan")
        lines_per_merchant_hour = (lines_1 - lines_0) / n / (wall / 3600)
        late_p99 = promtext.quantile(
            0.99, promtext.buckets(metrics_0, LATENESS), promtext.buckets(metrics_1, LATENESS)
        )
        skipped = promtext.total(metrics_1, SKIPPED) - promtext.total(metrics_0, SKIPPED)
        hosts = (
            "each merchant's shops on a host of their own"
            if DISTINCT_HOSTS
            else "all shops of a kind on one host"
        )
        table = Table(
            "fleet",
            f"{n} merchants × 3 shops in one `ffn-sync run`, idle world, production intervals ÷ {SCALE:.0f} (so they "
            f"poll as often as {SCALE * n:,.0f} merchants would), {hosts}; idle window of {wall:.0f} s after "
            f"{warmup_s:.0f} s.",
        )
        table.add("empty cycles/s", cycles / wall, "")
        table.add("daemon CPU per empty cycle (ms)", per_cycle_ms, f"≤ 1.5: {verdict(per_cycle_ms <= 1.5)}")
        table.add("CPU of one core", f"{cpu / wall:.0%}", "")
        table.add("RSS (MB)", rss_mb, f"≤ 400: {verdict(rss_mb <= 400)}")
        table.add("Postgres connections", connections, f"≤ 12: {verdict(connections <= 12)}")
        table.add("daemon's established TCP connections at the end of the idle window", tcp, hosts)
        table.add("start-up to 'ffn-sync started' (s)", startup_s, f"≤ 10: {verdict(startup_s <= 10)}")
        table.add(
            "log lines per idle merchant-hour",
            lines_per_merchant_hour,
            f"≤ 2: {verdict(lines_per_merchant_hour <= 2)}",
        )
        table.add("scheduler lateness p99 (s)", late_p99, f"≤ 1: {verdict(late_p99 <= 1)}")
        table.add("runs skipped (previous run outlived its interval)", int(skipped), "")
        # Logged now: a busy phase that fails (an overloaded machine) must not take the idle figures with it.
        logger.info("fleet: the idle window measured\n{}", table.render())
        await then(lambda: _cpu_s(pid))
    finally:
        cost = await daemon.finish(stop=True)
    table.add("daemon CPU s / peak RSS (MB), whole run", f"{cost.cpu_s:.1f} / {cost.peak_rss_mb:.0f}", "")
    return table


async def _wait_started(daemon: DaemonProcess, timeout_s: float) -> float:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not daemon.running():
            raise WorldError(
                f"the fleet daemon exited during start-up; log {daemon.log_path}:\n{daemon.log_tail()}"
            )
        if STARTED in daemon.log_path.read_text(errors="replace"):
            return time.monotonic() - daemon.started
        await asyncio.sleep(0.05)
    raise WorldError(f"the fleet daemon did not start within {timeout_s:.0f} s; log {daemon.log_path}")


async def _metrics(stage: Stage) -> str:
    async with stage.session.get(f"http://127.0.0.1:{stage.metrics_port}/metrics") as response:
        return await response.text()


async def _cycles(stage: Stage) -> int:
    async with stage.session.get(f"http://127.0.0.1:{stage.metrics_port}/metrics") as response:
        text = await response.text()
    return int(sum(float(v) for v in re.findall(r"^ffn_sync_cycles_total\{[^}]*\} (\S+)$", text, re.M)))


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def tcp_connections(pid: int) -> int:
    """Established TCP connections of the process ``pid`` (its socket inodes looked up in /proc/net/tcp*)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    established = 0
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            established += fields[3] == "01" and fields[9] in inodes
    return established


def _lines(path: Path) -> int:
    with path.open("rb") as log:
        return sum(1 for _ in log)
