"""``ffn-sync``: the command line. Subcommands live in the modules of this package (see ``registry``)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from loguru import logger

from daemon.cli.common import add_global_options, bootstrap_logging
from daemon.cli.exitcodes import ExitCode
from daemon.cli.registry import discover
from daemon.errors import ConfigError

PROG = "ffn-sync"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Sync Shopify, Shopware 6 and WooCommerce shops with the JTL Fulfillment Network.",
    )
    add_global_options(parser, suppress_defaults=False)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in discover():
        sub = subparsers.add_parser(
            command.name, help=command.help, description=command.description or command.help
        )
        add_global_options(sub, suppress_defaults=True)
        command.configure(sub)
        sub.set_defaults(handler=command.handler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    bootstrap_logging(args)
    try:
        return int(args.handler(args))
    except ConfigError as exc:
        report_config_error(exc)
        return ExitCode.CONFIG
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    except Exception as exc:
        code = getattr(exc, "exit_code", None)
        if isinstance(code, int):  # e.g. MigrationError: a known, explained refusal
            logger.error("{}", exc)
            return code
        logger.opt(exception=exc).critical("unexpected error, stopping: {}: {}", type(exc).__name__, exc)
        return ExitCode.SOFTWARE


def report_config_error(exc: ConfigError) -> None:
    problems = getattr(exc, "problems", None)
    if not problems:
        logger.error("configuration invalid: {}", exc)
        return
    logger.error("configuration invalid ({} problem(s)), not starting", len(problems))
    for problem in problems:
        logger.error("config {}", problem)
