"""``ffn-sync once``: every flow once, then exit; the exit code says whether all succeeded."""

from __future__ import annotations

import argparse
import asyncio

from daemon.cli.common import load_app_config
from daemon.cli.exitcodes import ExitCode
from daemon.cli.registry import Command


def _once(args: argparse.Namespace) -> int:
    from daemon import wiring
    from daemon.app import run_once

    config = load_app_config(args)
    return ExitCode.OK if asyncio.run(run_once(config, wiring.build_runtime)) else ExitCode.SYNC_FAILED


COMMANDS = [
    Command(
        name="once",
        help="run every flow once and exit (0: all succeeded, 1: some failed)",
        description=(
            "Run every flow of every configured merchant once (flows of one channel in order, channels "
            "in parallel) and exit 0 when all succeeded, 1 otherwise. Useful from cron or for a first sync."
        ),
        handler=_once,
        order=20,
    )
]
