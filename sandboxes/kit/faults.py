"""Fault knobs, applied by middleware to vendor routes (never to ``/_sandbox/``)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Faults:
    rate: float = 0.0  # share of vendor requests answered with one of ``statuses``
    statuses: list[int] = field(default_factory=lambda: [503])
    latency_ms: float = 0.0  # added to every vendor request
    timeout_rate: float = 0.0  # share of requests that hang for ``hang_s`` (client sees a timeout)
    reset_rate: float = 0.0  # share of requests whose connection is dropped without an answer
    hang_s: float = 30.0
    retry_after_s: float = 1.0  # Retry-After sent with injected 429/503
    seed: int | None = None
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    def update(self, body: dict[str, Any]) -> None:
        allowed = {
            "rate",
            "statuses",
            "latency_ms",
            "timeout_rate",
            "reset_rate",
            "hang_s",
            "retry_after_s",
            "seed",
        }
        unknown = set(body) - allowed
        if unknown:
            raise ValueError(f"unknown fault knobs: {sorted(unknown)}; allowed: {sorted(allowed)}")
        for key, value in body.items():
            setattr(self, key, value)
        if "seed" in body:
            self._rng = random.Random(body["seed"])

    def as_dict(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            "statuses": self.statuses,
            "latency_ms": self.latency_ms,
            "timeout_rate": self.timeout_rate,
            "reset_rate": self.reset_rate,
            "hang_s": self.hang_s,
            "retry_after_s": self.retry_after_s,
        }

    def roll(self) -> str | int | None:
        """Decide this request's fate: an HTTP status, ``"timeout"``, ``"reset"`` or None."""
        r = self._rng.random()
        if r < self.timeout_rate:
            return "timeout"
        r -= self.timeout_rate
        if r < self.reset_rate:
            return "reset"
        r -= self.reset_rate
        if r < self.rate and self.statuses:
            return self._rng.choice(self.statuses)
        return None
