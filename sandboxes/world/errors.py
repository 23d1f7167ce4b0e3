"""The one error the world builder, the demo and the benchmark raise: something they need is missing or broken."""

from __future__ import annotations


class WorldError(RuntimeError):
    """A clear, operator-facing reason the world cannot be built or driven (printed as-is, exit code non-zero)."""


class WorldUsageError(WorldError):
    """The caller asks for something the world cannot offer (bad duration, unknown shop kind)."""
