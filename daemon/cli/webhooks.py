"""``ffn-sync webhooks``: each channel's webhook registration and health, read from Postgres; ``--rotate
MERCHANT/CHANNEL`` stages a new WooCommerce secret or Shopware URL token.

The command never talks to the shop itself: a running daemon holds the credentials its receiver accepts, and
its registration passes are the one writer of the shop's subscriptions. It stages the new credential in
Postgres; the daemon's next pass (``systemctl reload``, i.e. SIGHUP, makes it now; otherwise the hourly
re-check or the next start) registers it while accepting old and new, then accepts only the new one.
"""

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
    from daemon.config import AppConfig
    from daemon.webhooks.report import WebhookStatus

HEADER = ["MERCHANT", "CHANNEL", "KIND", "HEALTH", "REGISTRATION", "TOPICS", "LAST DELIVERY", "REGISTERED"]


def webhook_table(statuses: list[WebhookStatus], now: datetime) -> str:
    from daemon.cli.status import _age, render_table

    rows = [HEADER]
    for s in statuses:
        state = s.state + (f" ({s.last_error})" if s.last_error else "")
        state += ", rotation pending" if s.rotation_pending else ""
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


SHOPIFY_ROTATION = (
    "{label} is a Shopify channel: Shopify signs its webhooks with the app's client secret, which only the"
    " app's settings (Shopify Partners / Dev Dashboard) can rotate. Rotate it there, then put the new secret"
    " in [channels.credentials] webhook_secret and the old one in webhook_secret_previous (Shopify signs with"
    " the old one for up to an hour) and reload the daemon (systemctl reload ffn-sync); remove"
    " webhook_secret_previous after that hour. Nothing was changed."
)
ROTATION_STAGED = (
    "A new {what} for {label} ({kind}) is stored in Postgres (never printed). Now run `systemctl reload"
    " ffn-sync` (SIGHUP; on every instance if several run): the daemon registers it at the shop, accepting the"
    " old and the new one meanwhile, then logs 'the shop's webhooks now use the new {what}; the old one is no"
    " longer accepted'. Without a reload that happens at the hourly re-check or the next start; `ffn-sync"
    " webhooks` shows 'rotation pending' until then."
)


def _rotate(args: argparse.Namespace) -> int:
    from daemon.webhooks.credentials import GENERATED_KINDS, what_rotates

    config = load_app_config(args)
    merchant_id, _, name = args.rotate.partition("/")
    merchant = next((m for m in config.merchants if m.id == merchant_id), None)
    channel = next((c for c in merchant.channels if c.name == name), None) if merchant else None
    if merchant is None or channel is None:
        names = [f"{m.id}/{c.name}" for m in config.merchants for c in m.channels]
        known = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
        print(f"no channel {args.rotate!r} in the merchant files; known: {known}", file=sys.stderr)
        return ExitCode.USAGE
    label = f"{merchant.id}/{channel.name}"
    if channel.kind not in GENERATED_KINDS:
        print(SHOPIFY_ROTATION.format(label=label))
        return ExitCode.OK
    if not channel.webhooks.enabled or not getattr(channel, "enabled", True):
        print(f"{label} has no webhooks on: nothing to rotate", file=sys.stderr)
        return ExitCode.USAGE
    asyncio.run(_stage(config, merchant.id, channel.name, channel.kind))
    print(ROTATION_STAGED.format(what=what_rotates(channel.kind), label=label, kind=channel.kind))
    return ExitCode.OK


async def _stage(config: AppConfig, merchant: str, channel: str, kind: str) -> None:
    from daemon.app import open_store
    from daemon.store.webhooks import stage_credential

    async with open_store(config) as db:
        await stage_credential(db.pool, merchant, channel, kind)


def _webhooks(args: argparse.Namespace) -> int:
    from daemon.secrets import redact

    if args.rotate:
        return _rotate(args)
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
    parser.add_argument(
        "--rotate",
        metavar="MERCHANT/CHANNEL",
        help="stage a new WooCommerce webhook secret or Shopware URL token (e.g. after a leak); the running"
        " daemon switches to it on reload (SIGHUP). Shopify: explains the app-secret rotation",
    )


COMMANDS = [
    Command(
        name="webhooks",
        help="per channel: webhook health (healthy/silent/unregistered), registration, last delivery",
        description=(
            "Read each channel's webhook registration from Postgres (works while the daemon runs): its "
            "health (healthy, silent: no delivery for [webhooks].silent_after x expected_every_s, "
            "unregistered), the state of the last registration and its error, the topics active at the shop. "
            "--rotate MERCHANT/CHANNEL stages a new secret/token for a leaked one (see RUNBOOK)."
        ),
        handler=_webhooks,
        configure=_configure,
        order=45,
    )
]
