"""``ffn-sync status``: per merchant/channel/flow health, read from Postgres (works while the daemon runs)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import orjson

from daemon.cli.common import load_app_config
from daemon.cli.exitcodes import ExitCode
from daemon.cli.registry import Command

if TYPE_CHECKING:
    from daemon.store.instances import InstanceRow, OwnerRow


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
    from daemon.store.instances import instance_rows, owner_rows
    from daemon.webhooks.report import webhook_statuses

    config = load_app_config(args)
    now = datetime.now(UTC)
    async with open_store(config) as db:
        statuses = await flow_statuses(db.pool, now, args.merchant)
        hooks = await webhook_statuses(config, db.pool, now, args.merchant)
        owners = {row.merchant_id: row for row in await owner_rows(db.pool, args.merchant)}
        instances = await instance_rows(db.pool)
    configured = [m.id for m in config.merchants if args.merchant in (None, m.id)]
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
    if instances or owners:
        table += "\n\n" + ownership_tables(list(owners.values()), instances, now, configured)
    data = []
    for s in statuses:
        row = asdict(s)
        owner = owners.get(s.merchant)
        row["owner"] = None if owner is None else _owner_json(owner)
        data.append(row)
    return data, table


def _owner_json(owner: OwnerRow) -> dict[str, object]:
    return {
        "instance_id": owner.instance_id,
        "host": owner.host,
        "pid": owner.pid,
        "since": owner.since,
        "alive": owner.alive,
    }


def ownership_tables(
    owners: list[OwnerRow], instances: list[InstanceRow], now: datetime, configured: Sequence[str] = ()
) -> str:
    """Who runs (INSTANCES) and who owns what (OWNERS); a merchant whose owner died waits for the next,
    one no instance ever took (none running, or none configured with it) is listed too, and the OWNERS
    title counts both: nobody syncs them."""
    owned: dict[str, int] = {}
    for owner in owners:
        if owner.alive:
            owned[owner.instance_id] = owned.get(owner.instance_id, 0) + 1
    rows = [["INSTANCE", "HOST", "PID", "VERSION", "SCHEMA", "OWNS", "STARTED", "HEARTBEAT", "STATE"]]
    for i in instances:
        rows.append(
            [
                i.instance_id,
                i.host,
                str(i.pid),
                i.version,
                str(i.schema_version),
                f"{owned.get(i.instance_id, 0)}/{i.merchants}",
                _age(i.started_at, now),
                _age(i.heartbeat_at, now),
                "alive" if i.alive else "gone",
            ]
        )
    alive = sum(1 for i in instances if i.alive)
    text = f"INSTANCES ({alive} alive)\n" + render_table(rows)
    rows = [["MERCHANT", "OWNER", "HOST", "PID", "SINCE"]]
    unowned: list[str] = []
    for o in owners:
        if not o.alive:
            unowned.append(o.merchant_id)
        rows.append(
            [
                o.merchant_id,
                o.instance_id if o.alive else f"NONE (was {o.instance_id})",
                o.host or "-",
                "-" if o.pid is None else str(o.pid),
                _age(o.since, now),
            ]
        )
    recorded = {o.merchant_id for o in owners}
    for merchant_id in sorted(set(configured) - recorded):
        unowned.append(merchant_id)
        rows.append([merchant_id, "NONE (never taken)", "-", "-", "-"])
    title = "OWNERS"
    if unowned:
        title += f" ({len(unowned)} merchant(s) without an owner: nobody syncs them)"
    return text + "\n\n" + title + "\n" + render_table(rows)


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
        help="per merchant/channel/flow: last success, lag, pending, failed, next run; who owns each merchant",
        description="Read the sync state from Postgres; works while the daemon runs. Exit 1 when a flow is stalled.",
        handler=_status,
        configure=_configure,
        order=40,
    )
]
