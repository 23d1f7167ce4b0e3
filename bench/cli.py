"""``python -m bench``: run scenarios, print one table each with the command line and machine facts."""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from loguru import logger

from bench import daemon_proc
from bench.machine import facts
from bench.report import Table
from bench.scenarios import SCENARIOS, common
from bench.sizes import SIZES
from sandboxes.world.errors import WorldError

ORDER = (
    "throughput",
    "idle",
    "calls",
    "latency",
    "ratelimit",
    "catchup",
    "memory",
    "webhooks",
    "fleet",
    "instances",
    "soak",
)
OPT_IN = ("soak",)  # minutes to hours: only when named
RESULTS = Path(__file__).with_name("RESULTS.md")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--size",
        choices=sorted(SIZES),
        default="small",
        help="small (default; every scenario in minutes), full (the budget's 10k/100k), tiny (smoke test)",
    )
    parser.add_argument(
        "--scenario",
        action="append",
        choices=ORDER,
        metavar="NAME",
        help=f"run only this scenario (repeatable): {', '.join(ORDER)}",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep each scenario's working directory (config, daemon logs, database)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run every daemon process under cProfile (implies --keep; .prof files next to the daemon logs)",
    )
    parser.add_argument(
        "--record", action="store_true", help=f"also write the tables to {RESULTS.name} (date and commit)"
    )
    return parser


async def run_scenarios(size_name: str, wanted: Sequence[str]) -> list[Table]:
    size = SIZES[size_name]
    wanted_set = set(wanted)
    tables: list[Table] = []
    done: set[str] = set()
    for name in ORDER:
        if name not in wanted_set or name in done:
            continue
        runner = SCENARIOS[name]
        group = {n for n in wanted_set if SCENARIOS[n] is runner}
        started = time.monotonic()
        logger.info("bench: scenario {} ({}) starting", "+".join(sorted(group)), size.name)
        try:
            tables += await runner(size, group)
        except WorldError as exc:  # the other scenarios still run; the failure is in the output
            logger.error("bench: scenario {} failed: {}", "+".join(sorted(group)), exc)
            failed = Table(sorted(group)[0], f"FAILED: {exc}")
            failed.failed = True
            tables.append(failed)
        logger.info("bench: scenario {} took {:.0f} s", "+".join(sorted(group)), time.monotonic() - started)
        done |= group
    return tables


def render(tables: Sequence[Table], command: str, elapsed_s: float) -> str:
    header = [
        f"## Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Command: `{command}` (all scenarios took {elapsed_s:.0f} s)",
        "",
        *(f"- {key}: {value}" for key, value in facts()),
        "",
    ]
    return "\n".join(header) + "\n" + "\n".join(table.render() for table in tables)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logger.remove()
    logger.add(sys.stderr, level="INFO", format="{time:HH:mm:ss} {level: <7} {message}")
    wanted = args.scenario or [name for name in ORDER if name not in OPT_IN]
    common.KEEP_WORK_DIRS = args.keep or args.profile
    daemon_proc.PROFILE = args.profile
    command = "python -m bench " + shlex.join(sys.argv[1:] if argv is None else list(argv))
    started = time.monotonic()
    try:
        tables = asyncio.run(run_scenarios(args.size, wanted))
    except KeyboardInterrupt:
        return 130
    text = render(tables, command.strip(), time.monotonic() - started)
    print(text)
    if args.record:
        RESULTS.write_text(_results_document(text))
        logger.info("bench: recorded in {}", RESULTS)
    return 1 if any(table.failed for table in tables) else 0


def _results_document(run: str) -> str:
    intro = (
        "# Benchmark results\n\n"
        'Produced by `python -m bench --record` (see `bench/`); targets from DESIGN.md, "Performance budget".\n'
        "The daemon runs as its own process; sandboxes and Postgres are separate processes, so CPU and RSS\n"
        "are the daemon's alone. Notes on misses are kept below the tables.\n\n"
    )
    notes_marker = "<!-- notes -->"
    previous = RESULTS.read_text() if RESULTS.exists() else ""
    notes = previous[previous.index(notes_marker) :] if notes_marker in previous else notes_marker + "\n"
    return intro + run + "\n" + notes
