"""``ffn-sync migrate``: apply pending schema migrations and print the schema version."""

from __future__ import annotations

import argparse
import asyncio

from daemon.cli.common import load_app_config
from daemon.cli.exitcodes import ExitCode
from daemon.cli.registry import Command


def _migrate(args: argparse.Namespace) -> int:
    from daemon.app import run_migrate

    config = load_app_config(args)
    applied, version = asyncio.run(run_migrate(config))
    detail = f"applied {', '.join(map(str, applied))}" if applied else "already up to date"
    print(f"schema version {version} ({detail})")
    return ExitCode.OK


COMMANDS = [
    Command(
        name="migrate",
        help="apply pending database migrations and print the schema version",
        description=(
            "Apply pending database migrations (also done by `run` and `once` at start) and print the "
            "schema version. Exits 65 if the database is newer than this version of ffn-sync or an "
            "applied migration file was changed."
        ),
        handler=_migrate,
        order=40,
    )
]
