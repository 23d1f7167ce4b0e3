"""CPU per empty cycle of an idle fleet, in several short windows (median), optionally under py-spy.

``BENCH_FLEET_SCALE=3 python -m bench.idle_cost --merchants 300 [--warmup 60] [--windows 3] [--window 40]
[--py-spy out.txt]``: stages the fleet exactly as the fleet scenario does (one set of sandboxes, production
intervals ÷ ``BENCH_FLEET_SCALE``), starts one ``ffn-sync run`` and measures, after the warm-up, the daemon's CPU
(``/proc``) and its finished cycles (``/metrics``) over each window. The fleet scenario's idle window is one
long sample in a ten-minute run; this is the quick loop for a change to the empty cycle, where the median of
a few windows on a shared machine says more than one. ``--py-spy`` records the last window (``--format raw``
collapsed stacks, ``--nonblocking``) for a profile by component (``bench.spy_shares``).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import re
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from bench.daemon_proc import DaemonProcess
from bench.scenarios import fleet
from bench.scenarios.common import bench_stage
from sandboxes.world.fleet import stage_fleet
from sandboxes.world.stage import staged


async def main(merchants: int, warmup_s: float, windows: int, window_s: float, spy: str | None) -> None:
    options = bench_stage(None, fleet._timing())
    options = dataclasses.replace(
        options, metrics=True, merchant=dataclasses.replace(options.merchant, oversale=True)
    )
    async with staged(options) as stage:
        built = await stage_fleet(stage, merchants)
        stage = dataclasses.replace(stage, config_path=built.directory, env={**stage.env, **built.env})
        daemon = DaemonProcess(stage, "run", "idle-cost")
        pid = daemon.process.pid
        try:
            startup_s = await fleet._wait_started(daemon, timeout_s=120.0 + merchants * 0.2)
            print(f"started in {startup_s:.1f} s; warm-up {warmup_s:.0f} s", flush=True)
            await asyncio.sleep(warmup_s)
            figures: list[tuple[float, float, float]] = []
            cycles_0, cpu_0, t_0 = await fleet._cycles(stage), fleet._cpu_s(pid), time.monotonic()
            for number in range(windows):
                recorder = None
                if spy and number == windows - 1:
                    recorder = await asyncio.create_subprocess_exec(
                        os.path.join(os.path.dirname(sys.executable), "py-spy"),
                        "record",
                        "--pid",
                        str(pid),
                        "--duration",
                        str(int(window_s)),
                        "--format",
                        "raw",
                        "--nonblocking",
                        "--rate",
                        "200",
                        "-o",
                        spy,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                    # py-spy attaches and starts sampling: the window starts when it has.
                    cycles_0, cpu_0, t_0 = await fleet._cycles(stage), fleet._cpu_s(pid), time.monotonic()
                await asyncio.sleep(window_s)
                # One /metrics scrape ends a window and starts the next (rendering ~12,000 series is not free).
                cycles_1, cpu_1, t_1 = await fleet._cycles(stage), fleet._cpu_s(pid), time.monotonic()
                if recorder is not None:
                    await recorder.wait()
                cycles, cpu, wall = cycles_1 - cycles_0, cpu_1 - cpu_0, t_1 - t_0
                load = os.getloadavg()[0]
                per_cycle = cpu / cycles * 1000 if cycles else float("nan")
                figures.append((per_cycle, cpu / wall, cycles / wall))
                spied = " (py-spy)" if recorder is not None else ""
                print(
                    f"window {number + 1}{spied}: {cycles / wall:.1f} cycles/s, {per_cycle:.2f} ms CPU per cycle,"
                    f" {cpu / wall:.1%} of a core, load {load:.2f}",
                    flush=True,
                )
                cycles_0, cpu_0, t_0 = cycles_1, cpu_1, t_1
            clean = figures[:-1] if spy and len(figures) > 1 else figures
            print(
                f"median of {len(clean)} window(s): {statistics.median(f[0] for f in clean):.2f} ms per cycle,"
                f" {statistics.median(f[1] for f in clean):.1%} of a core,"
                f" {statistics.median(f[2] for f in clean):.1f} cycles/s"
            )
            _log_summary(daemon.log_path)
        finally:
            await daemon.finish(stop=True)


def _log_summary(path: Path) -> None:
    """What the daemon said at WARNING and above (an overloaded machine shows here: retries, skips)."""
    kinds: Counter[str] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        if re.search(r"\b(WARNING|ERROR)\b", line):
            kinds[re.sub(r"\d+", "N", line.split(None, 3)[-1])[:110]] += 1
    print(
        f"{sum(kinds.values())} WARNING/ERROR lines"
        + "".join(f"\n  {n:6} {k}" for k, n in kinds.most_common(8))
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--merchants", type=int, default=300)
    parser.add_argument("--warmup", type=float, default=60.0)
    parser.add_argument("--windows", type=int, default=3)
    parser.add_argument("--window", type=float, default=40.0)
    parser.add_argument("--py-spy", dest="spy", default=None)
    args = parser.parse_args()
    asyncio.run(main(args.merchants, args.warmup, args.windows, args.window, args.spy))
