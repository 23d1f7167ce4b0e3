"""Options every subcommand accepts, and the config loading they share."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, cast

from daemon.logging_setup import LOG_FORMATS, LOG_LEVELS, LogFormat, configure_logging

if TYPE_CHECKING:
    from daemon.config import AppConfig

DEFAULT_CONFIG = Path("/etc/ffn-sync")


def add_global_options(parser: argparse.ArgumentParser, *, suppress_defaults: bool) -> None:
    """Global options, accepted before and after the subcommand (``ffn-sync run --config X``).

    On subparsers the defaults are suppressed so a value given before the subcommand is not overwritten.
    """

    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress_defaults else value

    group = parser.add_argument_group("global options")
    group.add_argument(
        "--config",
        type=Path,
        default=default(DEFAULT_CONFIG),
        metavar="PATH",
        help=f"a merchant TOML file or a directory of them (default: {DEFAULT_CONFIG})",
    )
    group.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default=default(None),
        help="log line format (default: [logging] format from the config, else human)",
    )
    group.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        default=default(None),
        metavar="LEVEL",
        help="minimum level logged (default: [logging] level from the config, else INFO)",
    )


def bootstrap_logging(args: argparse.Namespace) -> None:
    """Logging before the config is read (its problems must be printable)."""
    configure_logging(args.log_format or "human", args.log_level or "INFO")


def apply_logging_config(args: argparse.Namespace, config: AppConfig) -> None:
    """The config's [logging] section, with command-line options taking precedence."""
    fmt = args.log_format or config.logging.format
    level = args.log_level or config.logging.level
    configure_logging(cast(LogFormat, fmt), level)


def load_app_config(args: argparse.Namespace) -> AppConfig:
    """Load and validate; ``ConfigErrors`` propagate to ``main`` (exit 78)."""
    from daemon.config import load_config

    config = load_config(args.config)
    apply_logging_config(args, config)
    return config
