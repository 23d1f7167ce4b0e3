"""``ffn-sync status``: per merchant/channel/flow health, read from Postgres (works while the daemon runs)."""

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


def _age(at: datetime | None, now: datetime) -> str:
    if at is None:
        return "never"
    seconds = (now - at).total_seconds()
    return _span(seconds) + (" ago" if seconds >= 0 else " ahead")


def _span(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = abs(seconds)
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def render_table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


async def _collect(args: argparse.Namespace) -> tuple[list[dict[str, object]], str]:
    from daemon.app import open_store
    from daemon.cli.webhooks import webhook_table
    from daemon.engine.reports import flow_statuses
    from daemon.webhooks.report import webhook_statuses

    config = load_app_config(args)
    now = datetime.now(UTC)
    async with open_store(config) as db:
        statuses = await flow_statuses(db.pool, now, args.merchant)
        hooks = await webhook_statuses(config, db.pool, now, args.merchant)
    header = ["MERCHANT", "CHANNEL", "FLOW", "LAST SUCCESS", "LAG", "PENDING", "FAILED", "NEXT RUN", "STATE"]
    rows = [header]
    for s in statuses:
        state = "STALLED" if s.stalled else ("failing" if s.consecutive_failures else "ok")
        next_run = (
            "-"
            if s.next_run_at is None
            else ("due" if s.next_run_at <= now else "in " + _span((s.next_run_at - now).total_seconds()))
        )
        rows.append(
            [
                s.merchant,
                s.channel,
                s.flow,
                _age(s.last_success_at, now),
                _span(s.cursor_lag_s),
                str(s.pending),
                str(s.failed),
                next_run,
                state,
            ]
        )
    table = render_table(rows) if statuses else "no flow has run yet"
    if hooks:  # webhooks are only a trigger: their health never changes the exit code
        table += "\n\nWEBHOOKS (ffn-sync webhooks)\n" + webhook_table(hooks, now)
    return [asdict(s) for s in statuses], table


def _status(args: argparse.Namespace) -> int:
    data, table = asyncio.run(_collect(args))
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
    else:
        print(table)
    return ExitCode.OK if not any(d["stalled"] for d in data) else ExitCode.SYNC_FAILED


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--merchant", help="only this merchant id")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


COMMANDS = [
    Command(
        name="status",
        help="per merchant/channel/flow: last success, lag, pending, failed, next run",
        description="Read the sync state from Postgres; works while the daemon runs. Exit 1 when a flow is stalled.",
        handler=_status,
        configure=_configure,
        order=40,
    )
]
