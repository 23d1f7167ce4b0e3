"""``ffn-sync webhooks``: each channel's webhook registration and health, read from Postgres."""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import orjson

from daemon.cli.common import load_app_config
from daemon.cli.exitcodes import ExitCode
from daemon.cli.registry import Command

if TYPE_CHECKING:
    from daemon.webhooks.report import WebhookStatus

HEADER = ["MERCHANT", "CHANNEL", "KIND", "HEALTH", "REGISTRATION", "TOPICS", "LAST DELIVERY", "REGISTERED"]


def webhook_table(statuses: list[WebhookStatus], now: datetime) -> str:
    from daemon.cli.status import _age, render_table

    rows = [HEADER]
    for s in statuses:
        state = s.state + (f" ({s.last_error})" if s.last_error else "")
        rows.append(
            [
                s.merchant,
                s.channel,
                s.kind,
                s.health,
                state,
                f"{s.active_at_shop}/{len(s.topics)} active",
                _age(s.last_delivery_at, now),
                _age(s.last_registered_at, now),
            ]
        )
    return render_table(rows)


async def _collect(args: argparse.Namespace) -> list[WebhookStatus]:
    from daemon.app import open_store
    from daemon.webhooks.report import webhook_statuses

    config = load_app_config(args)
    async with open_store(config) as db:
        return list(await webhook_statuses(config, db.pool, datetime.now(UTC), args.merchant))


def _webhooks(args: argparse.Namespace) -> int:
    from daemon.secrets import redact

    statuses = asyncio.run(_collect(args))
    if args.json:
        data = [asdict(s) for s in statuses]
        sys.stdout.buffer.write(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
    elif not statuses:
        print("no channel has webhooks on ([channels] webhooks = true)")
    else:
        print(redact(webhook_table(statuses, datetime.now(UTC))))
    return ExitCode.OK


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--merchant", help="only this merchant id")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


COMMANDS = [
    Command(
        name="webhooks",
        help="per channel: webhook health (healthy/silent/unregistered), registration, last delivery",
        description=(
            "Read each channel's webhook registration from Postgres (works while the daemon runs): its "
            "health (healthy, silent: no delivery for [webhooks].silent_after x expected_every_s, "
            "unregistered), the state of the last registration and its error, the topics active at the shop."
        ),
        handler=_webhooks,
        configure=_configure,
        order=45,
    )
]
