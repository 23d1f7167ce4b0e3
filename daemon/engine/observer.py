"""Hooks through which the engine reports what it did (metrics attach here)."""

from __future__ import annotations

from typing import Protocol


class Observer(Protocol):
    def cycle_finished(
        self, merchant: str, channel: str, flow: str, counts: dict[str, int], duration_s: float, ok: bool
    ) -> None: ...

    def cursor_lag(self, merchant: str, channel: str, flow: str, lag_s: float) -> None: ...

    def order_exported(self, merchant: str, channel: str, latency_s: float) -> None: ...


class NullObserver:
    def cycle_finished(
        self, merchant: str, channel: str, flow: str, counts: dict[str, int], duration_s: float, ok: bool
    ) -> None:
        return None

    def cursor_lag(self, merchant: str, channel: str, flow: str, lag_s: float) -> None:
        return None

    def order_exported(self, merchant: str, channel: str, latency_s: float) -> None:
        return None
