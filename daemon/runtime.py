"""The seam between the process lifecycle and the sync engine.

The lifecycle (``daemon.app``) knows nothing about flows: it asks a ``RuntimeFactory`` for a ``Runtime``
built from the config and the open database, schedules the runtime's jobs, and closes it on shutdown or
before a reload replaces it. The engine provides the real factory in ``daemon.wiring.build_runtime``.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from daemon.config import AppConfig
    from daemon.scheduler import JobHealth
    from daemon.store import Database
else:
    AppConfig = Any
    Database = Any

WIRING_MODULE = "daemon.wiring"


@dataclass(frozen=True)
class JobSpec:
    """One scheduled unit of work: a flow of one merchant (and channel, for shop-side flows)."""

    merchant: str
    channel: str | None
    flow: str
    interval_s: float
    run: Callable[[], Awaitable[None]]
    phase: int = 0  # `once` runs every job of phase 0 before any of phase 1 (e.g. reads before writes)

    @property
    def name(self) -> str:
        # Merchant-level flows (FFN shipments, reconcile) have no channel; "-" keeps the shape stable
        # for log filters and metric labels.
        return f"{self.merchant}/{self.channel or '-'}/{self.flow}"


class Runtime(Protocol):
    jobs: Sequence[JobSpec]

    async def retry_now(self, merchant: str | None = None) -> None:
        """Something was fixed (a reload, a new FFN consent): what waits on a past failure of ``merchant``
        (default: every merchant) — paused shops, postponed and backing-off records — tries again now."""
        ...

    async def aclose(self) -> None: ...


RuntimeFactory = Callable[[AppConfig, Database], Awaitable[Runtime]]
HealthProvider = Callable[[], "Sequence[JobHealth]"]


class HealthAware(Protocol):
    """Optional for a Runtime: ``run`` hands it the scheduler's live job health (for /healthz, metrics)."""

    def bind_health(self, health: HealthProvider) -> None: ...


def bind_health(runtime: Runtime, health: HealthProvider) -> None:
    bind = getattr(runtime, "bind_health", None)
    if callable(bind):
        bind(health)


class EmptyRuntime:
    """A runtime without jobs: the process runs, migrates and answers signals, but syncs nothing."""

    def __init__(self) -> None:
        self.jobs: Sequence[JobSpec] = ()
        self.closed = False

    async def retry_now(self, merchant: str | None = None) -> None:
        return None

    async def aclose(self) -> None:
        self.closed = True


async def build_empty_runtime(config: AppConfig, db: Database) -> Runtime:
    return EmptyRuntime()


def default_runtime_factory() -> RuntimeFactory:
    """``daemon.wiring.build_runtime`` when the engine is installed, else the empty runtime."""
    if importlib.util.find_spec(WIRING_MODULE) is None:
        return build_empty_runtime
    module = importlib.import_module(WIRING_MODULE)
    return cast(RuntimeFactory, module.build_runtime)
