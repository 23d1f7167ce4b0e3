"""``ffn-sync run``: the daemon (under systemd: ``Type=notify``)."""

from __future__ import annotations

import argparse
import asyncio
import functools

from daemon.cli.common import apply_logging_config, load_app_config
from daemon.cli.registry import Command


def _run(args: argparse.Namespace) -> int:
    from daemon import wiring
    from daemon.app import Daemon

    config = load_app_config(args)
    daemon = Daemon(
        args.config,
        config,
        factory=wiring.instance_runtime_factory(),
        on_logging_change=functools.partial(apply_logging_config, args),
    )
    return asyncio.run(daemon.run())


COMMANDS = [
    Command(
        name="run",
        help="run the sync daemon until SIGTERM (SIGHUP reloads the config)",
        description=(
            "Run every flow of every configured merchant on its interval until SIGTERM/SIGINT. "
            "SIGHUP re-reads the config: an invalid one is rejected and the running one stays in force."
        ),
        handler=_run,
        order=10,
    )
]
