"""``ffn-sync trace ORDER``: one shop order's history in our records — why it has (not) gone out."""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import asdict
from datetime import UTC, datetime

import orjson

from daemon.cli.common import load_app_config
from daemon.cli.exitcodes import ExitCode
from daemon.cli.registry import Command


async def _trace(args: argparse.Namespace) -> int:
    from daemon.app import open_store
    from daemon.engine.trace import render, trace_order

    config = load_app_config(args)
    async with open_store(config) as db:
        traces = await trace_order(db.pool, args.order, merchant=args.merchant, now=datetime.now(UTC))
    if args.json:
        data = [asdict(t) for t in traces]
        sys.stdout.buffer.write(orjson.dumps(data, default=str, option=orjson.OPT_INDENT_2) + b"\n")
    elif traces:
        print("\n\n".join(render(t) for t in traces))
    else:
        print(f"no order {args.order!r} in the records (not pulled yet, or another shop id / number)")
    return ExitCode.OK if traces else ExitCode.SYNC_FAILED


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("order", help="shop order number (as the shop shows it) or the shop's order id")
    parser.add_argument("--merchant", help="only this merchant id")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


COMMANDS = [
    Command(
        name="trace",
        help="one order's history: pulls, gate decisions, exports, FFN status, shipments, reserved stock",
        description=(
            "Show what ffn-sync knows about one shop order in any channel: where it stands and why, the "
            "stock it keeps out of the shops, and its history. Exit 1 when no order matched."
        ),
        handler=lambda args: asyncio.run(_trace(args)),
        configure=_configure,
        order=43,
    )
]
