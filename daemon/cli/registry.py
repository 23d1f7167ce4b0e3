"""Command discovery: every module of ``daemon.cli`` that defines ``COMMANDS`` contributes subcommands.

Adding a command is adding a module with ``COMMANDS = [Command(...)]``; nothing else needs editing.
Command modules keep heavy imports inside their handlers so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass

Handler = Callable[[argparse.Namespace], int]


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    handler: Handler
    configure: Callable[[argparse.ArgumentParser], None] = lambda parser: None
    description: str | None = None
    order: int = 100  # position in `--help`; lower first


def discover(package: str = "daemon.cli") -> list[Command]:
    commands = [cmd for module in _command_modules(package) for cmd in getattr(module, "COMMANDS", ())]
    names = [c.name for c in commands]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise RuntimeError(f"subcommand defined twice: {', '.join(duplicates)}")
    return sorted(commands, key=lambda c: (c.order, c.name))


def _command_modules(package: str) -> Iterator[object]:
    pkg = importlib.import_module(package)
    for info in pkgutil.iter_modules(pkg.__path__):
        if not info.name.startswith("_"):
            yield importlib.import_module(f"{package}.{info.name}")
