"""``ffn-sync demo``: the daemon working live against local sandboxes, then a summary table."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from loguru import logger

from daemon.cli.checkout import SandboxesMissing, import_from_checkout
from daemon.cli.exitcodes import ExitCode
from daemon.cli.registry import Command


def _shop_list(value: str) -> tuple[str, ...]:
    kinds = tuple(part.strip().lower() for part in value.split(",") if part.strip())
    if not kinds:
        raise argparse.ArgumentTypeError("name at least one shop kind, e.g. shopify,woocommerce")
    return kinds


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--duration", type=float, default=60.0, metavar="S", help="seconds to run (default: %(default)g)"
    )
    parser.add_argument(
        "--orders-per-s",
        type=float,
        default=2.0,
        metavar="R",
        help="new shop orders per second, spread over the shops (default: %(default)g)",
    )
    parser.add_argument(
        "--shops",
        type=_shop_list,
        default=None,
        metavar="KINDS",
        help="comma-separated shop kinds, e.g. shopify,shopware,woocommerce (default: every one available)",
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="keep config, sandbox logs and the database here (default: a temporary directory, removed)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary working directory for inspection"
    )


def _demo(args: argparse.Namespace) -> int:
    try:
        demo = import_from_checkout("sandboxes.demo")
    except SandboxesMissing as exc:
        logger.error("demo: {}", exc)
        return ExitCode.UNAVAILABLE
    DemoError, DemoUsageError = demo.DemoError, demo.DemoUsageError
    try:
        options = demo.DemoOptions(
            duration_s=args.duration,
            orders_per_s=args.orders_per_s,
            shops=args.shops,
            work_dir=args.work_dir,
            keep=args.keep,
        )
        summary = asyncio.run(demo.run_demo(options))
    except DemoUsageError as exc:
        logger.error("demo: {}", exc)
        return ExitCode.USAGE
    except DemoError as exc:  # a piece the demo needs is missing or broken
        logger.error("demo failed: {}", exc)
        return ExitCode.UNAVAILABLE
    print(summary.render(), flush=True)
    problems = summary.problems()
    for problem in problems:
        logger.error("demo: {}{}", problem, "" if summary.interrupted else "; see the log above")
    return ExitCode.SYNC_FAILED if problems else ExitCode.OK


COMMANDS = [
    Command(
        name="demo",
        help="run the daemon against local sandboxes with a stream of orders, then print a summary",
        description=(
            "Start the FFN sandbox and every available shop sandbox on free 127.0.0.1 ports, an embedded "
            "Postgres in a temporary directory, seed a catalogue and stock, and run the real daemon with an "
            "FFN autopilot fulfiller and a stream of new orders. Stops after --duration or on Ctrl-C and "
            "prints orders exported, shipments applied, stock updates, dead letters and latencies. "
            "Exit codes: 1 when a flow moved nothing, 64 for unusable options, 69 when a piece the demo "
            "needs is missing or broken."
        ),
        handler=_demo,
        configure=_configure,
        order=80,
    )
]
