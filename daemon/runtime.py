"""The seam between the process lifecycle and the sync engine.

The lifecycle (``daemon.app``) knows nothing about flows: the command that starts it passes a
``RuntimeFactory`` (``daemon.wiring.build_runtime``), which builds a ``Runtime`` from the config and the
open database; the lifecycle schedules the runtime's jobs and closes it on shutdown or before a reload
replaces it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from daemon.jobrunner import JobSpec

if TYPE_CHECKING:
    from daemon.config import AppConfig
    from daemon.store import Database


class Runtime(Protocol):
    jobs: Sequence[JobSpec]

    async def parked_since(self, since: datetime) -> int:
        """Records that became dead letters since ``since`` (``once`` fails on them)."""
        ...

    async def retry_now(self, merchant: str | None = None, *, shops: bool = True) -> None:
        """Something was fixed (a reload, a new FFN consent): what waits on a past failure of ``merchant``
        (default: every merchant) — postponed and backing-off records, and with ``shops`` the paused
        shops — tries again now. A new FFN consent fixes nothing at a shop: it passes ``shops=False``."""
        ...

    async def aclose(self) -> None: ...


RuntimeFactory = Callable[["AppConfig", "Database"], Awaitable[Runtime]]


class EmptyRuntime:
    """A runtime without jobs: the process runs, migrates and answers signals, but syncs nothing."""

    def __init__(self, jobs: Sequence[JobSpec] = ()) -> None:
        self.jobs: Sequence[JobSpec] = jobs
        self.closed = False

    async def parked_since(self, since: datetime) -> int:
        return 0

    async def retry_now(self, merchant: str | None = None, *, shops: bool = True) -> None:
        return None

    async def aclose(self) -> None:
        self.closed = True


async def build_empty_runtime(config: AppConfig, db: Database) -> Runtime:
    return EmptyRuntime()
