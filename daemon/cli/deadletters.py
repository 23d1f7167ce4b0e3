"""``ffn-sync failed`` lists dead letters with their reasons; ``ffn-sync retry`` puts them back in the queue."""

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
from daemon.cli.status import render_table


async def _failed(args: argparse.Namespace) -> int:
    from daemon.app import open_store
    from daemon.engine.reports import dead_letters

    config = load_app_config(args)
    async with open_store(config) as db:
        letters = await dead_letters(db.pool, args.merchant)
    if args.json:
        sys.stdout.buffer.write(
            orjson.dumps([asdict(d) for d in letters], option=orjson.OPT_INDENT_2) + b"\n"
        )
        return ExitCode.OK
    if not letters:
        print("no dead letters")
        return ExitCode.OK
    rows = [["MERCHANT", "CHANNEL", "KIND", "RECORD", "REASON", "SINCE", "DETAIL"]]
    for d in letters:
        rows.append(
            [
                d.merchant,
                d.channel,
                d.entity,
                d.label or d.external_id,
                d.reason_code or "-",
                f"{d.updated_at:%Y-%m-%d %H:%M}",
                (d.last_error or "").replace("\n", " "),
            ]
        )
    print(render_table(rows))
    print(
        f"\n{len(letters)} dead letter(s). Fix the cause, then `ffn-sync retry RECORD` or `ffn-sync retry --all`."
    )
    return ExitCode.OK


async def _retry(args: argparse.Namespace) -> int:
    from daemon.app import open_store
    from daemon.engine.reports import retry

    if not args.all and not args.record:
        print("name a RECORD (shop order id, order number or SKU) or pass --all", file=sys.stderr)
        return ExitCode.USAGE
    config = load_app_config(args)
    async with open_store(config) as db:
        count = await retry(
            db.pool, merchant=args.merchant, key=None if args.all else args.record, now=datetime.now(UTC)
        )
    print(f"{count} record(s) queued again; the next cycle of their flow sends them")
    return ExitCode.OK if count else ExitCode.SYNC_FAILED


def _configure_failed(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--merchant", help="only this merchant id")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _configure_retry(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("record", nargs="?", help="shop order id, order number (as shown by `failed`) or SKU")
    parser.add_argument("--all", action="store_true", help="every dead letter")
    parser.add_argument("--merchant", help="only this merchant id")


COMMANDS = [
    Command(
        name="failed",
        help="list dead letters (parked records) with their reasons",
        handler=lambda args: asyncio.run(_failed(args)),
        configure=_configure_failed,
        order=41,
    ),
    Command(
        name="retry",
        help="queue dead letters again (one RECORD or --all)",
        description="Put parked records back in the queue after their cause was fixed. Exit 1 when none matched.",
        handler=lambda args: asyncio.run(_retry(args)),
        configure=_configure_retry,
        order=42,
    ),
]
