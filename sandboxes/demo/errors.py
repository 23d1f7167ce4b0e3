"""The one error the demo and the benchmark raise: something they need is missing or broken."""

from __future__ import annotations


class DemoError(RuntimeError):
    """A clear, operator-facing reason the demo cannot go on (printed as-is, exit code non-zero)."""


class DemoUsageError(DemoError):
    """The command line asks for something the demo cannot do (bad duration, unknown shop kind)."""
