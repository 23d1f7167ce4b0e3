"""Where a fleet's memory goes: N merchants × 3 shops built in-process as ``ffn-sync run`` builds them.

``python -m bench.fleet_memory --merchants 1000 [--frames 1] [--passes 2] [--no-trace]``: stages the fleet on
one set of sandboxes (as the fleet scenario does), builds the runtime (clients, contexts, jobs), then runs
every job once per pass (a bounded number at a time, as the scheduler would spread them) and prints RSS
(VmRSS) and, unless ``--no-trace``, tracemalloc's top 25 by file (``--frames 1``) or by traceback after
construction and after the passes, plus counts of the aiohttp objects alive.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import time
import tracemalloc

from bench.scenarios.common import bench_stage
from sandboxes.world.fleet import stage_fleet
from sandboxes.world.merchant import Timing
from sandboxes.world.stage import staged


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _top(label: str, snapshot: tracemalloc.Snapshot, base: tracemalloc.Snapshot | None, frames: int) -> None:
    key = "filename" if frames == 1 else "traceback"
    snapshot = snapshot.filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    stats = snapshot.compare_to(base, key) if base is not None else snapshot.statistics(key)
    total = sum(s.size for s in snapshot.statistics("filename")) / 2**20
    print(f"\n== {label}: traced {total:.1f} MB, top 25 ({key}) ==")
    for stat in stats[:25]:
        size = stat.size / 2**20
        diff = getattr(stat, "size_diff", stat.size) / 2**20
        where = stat.traceback.format(limit=frames, most_recent_first=True)
        print(
            f"{size:8.2f} MB ({diff:+8.2f}) {stat.count:>9,} blocks  {' <- '.join(w.strip() for w in where)}"
        )


def _aiohttp_census() -> str:
    import aiohttp
    from aiohttp.client_proto import ResponseHandler

    kinds = {"ClientSession": aiohttp.ClientSession, "TCPConnector": aiohttp.TCPConnector}
    counts = dict.fromkeys([*kinds, "ResponseHandler (connections)"], 0)
    for obj in gc.get_objects():
        for name, kind in kinds.items():
            if isinstance(obj, kind):
                counts[name] += 1
        if isinstance(obj, ResponseHandler):
            counts["ResponseHandler (connections)"] += 1
    return ", ".join(f"{name} {count:,}" for name, count in counts.items())


async def main(merchants: int, frames: int, passes: int, trace: bool, concurrency: int) -> None:
    from daemon.app import open_store
    from daemon.config import load_config
    from daemon.logging_setup import configure_logging
    from daemon.wiring import build_runtime

    options = bench_stage(None, Timing.production())
    options = dataclasses.replace(options, merchant=dataclasses.replace(options.merchant, oversale=True))
    async with staged(options) as stage:
        fleet = await stage_fleet(stage, merchants)
        config = load_config(fleet.directory, environ={**stage.daemon_env(), **fleet.env})
        configure_logging(level="INFO")  # as the daemon runs: no line per request or empty cycle
        gc.collect()
        print(f"RSS before building: {rss_mb():.1f} MB")
        if trace:
            tracemalloc.start(frames)
        base = tracemalloc.take_snapshot() if trace else None
        async with open_store(config) as db:
            started = time.monotonic()
            runtime = await build_runtime(config, db, exclusive=False)
            gc.collect()
            print(
                f"built {len(runtime.jobs):,} jobs in {time.monotonic() - started:.1f} s; RSS {rss_mb():.1f} MB"
            )
            built = tracemalloc.take_snapshot() if trace else None
            if built is not None:
                _top("after construction", built, base, frames)
            gate = asyncio.Semaphore(concurrency)

            async def one(run):  # type: ignore[no-untyped-def]
                async with gate:
                    try:
                        await run()
                    except Exception:
                        pass

            for number in range(1, passes + 1):
                started = time.monotonic()
                await asyncio.gather(*(one(job.run) for job in runtime.jobs))
                gc.collect()
                print(
                    f"pass {number}: {time.monotonic() - started:.1f} s; RSS {rss_mb():.1f} MB; {_aiohttp_census()}"
                )
            if trace and built is not None:
                _top(
                    f"after {passes} pass(es), growth since construction",
                    tracemalloc.take_snapshot(),
                    built,
                    frames,
                )
                _top(
                    "after the passes, everything since before building",
                    tracemalloc.take_snapshot(),
                    base,
                    frames,
                )
            await runtime.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--merchants", type=int, default=1000)
    parser.add_argument("--frames", type=int, default=1)
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--no-trace", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.merchants, args.frames, args.passes, not args.no_trace, args.concurrency))
