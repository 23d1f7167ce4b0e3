"""``ffn-sync resync --since DATE``: move cursors back and re-run the flows now, with a progress bar.

Safe at any time: re-read records with unchanged content cost nothing, and every write is idempotent.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime

from daemon.cli.common import load_app_config
from daemon.cli.exitcodes import ExitCode
from daemon.cli.registry import Command
from daemon.engine.flows.registry import CURSOR_FLOWS

PULL_FLOWS = CURSOR_FLOWS


class ProgressBar:
    """Cursor catch-up as a bar on stderr: position between --since and now."""

    def __init__(self, since: datetime, width: int = 30) -> None:
        self.since = since
        self.width = width

    def cursor_lag(self, merchant: str, channel: str, flow: str, lag_s: float) -> None:
        total = max(1.0, (datetime.now(UTC) - self.since).total_seconds())
        done = min(1.0, max(0.0, 1 - lag_s / total))
        filled = int(done * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        print(f"\r{merchant}/{channel}/{flow} [{bar}] {done:4.0%}", end="", file=sys.stderr, flush=True)

    def cycle_finished(
        self, merchant: str, channel: str, flow: str, counts: dict[str, int], duration_s: float, ok: bool
    ) -> None:
        print(file=sys.stderr)

    def order_exported(self, merchant: str, channel: str, latency_s: float) -> None:
        return None


def _parse_since(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def _resync(args: argparse.Namespace) -> int:
    from daemon.app import open_store
    from daemon.engine.reports import resync
    from daemon.scheduler import run_all_once
    from daemon.wiring import build_runtime

    since = _parse_since(args.since)
    config = load_app_config(args)
    async with open_store(config) as db:
        moved = await resync(
            db.pool, merchant=args.merchant, since=since, flow=args.flow, channel=args.channel
        )
        print(f"moved {moved} cursor(s) back to {since.isoformat()}", file=sys.stderr)
        runtime = await build_runtime(config, db, observer=ProgressBar(since))
        try:
            jobs = [
                j
                for j in runtime.jobs
                if j.flow in PULL_FLOWS
                and (args.flow is None or j.flow == args.flow)
                and (args.merchant is None or j.merchant == args.merchant)
                and (args.channel is None or j.channel == args.channel)
            ]
            ok = await run_all_once(jobs)
        finally:
            await runtime.aclose()
    return ExitCode.OK if ok else ExitCode.SYNC_FAILED


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", required=True, help="ISO date or date-time, UTC unless an offset is given")
    parser.add_argument("--flow", choices=PULL_FLOWS, help="only this flow (default: all)")
    parser.add_argument("--merchant", help="only this merchant id")
    parser.add_argument("--channel", help="only this channel name ('ffn' for the FFN feeds)")


COMMANDS = [
    Command(
        name="resync",
        help="re-read everything changed since a date (backfill), with a progress bar",
        handler=lambda args: asyncio.run(_resync(args)),
        configure=_configure,
        order=43,
    )
]
