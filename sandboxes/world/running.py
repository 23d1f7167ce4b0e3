"""Starting a world's sandboxes: in this process (tests reach into their state) or as their own processes.

In-process sandboxes are aiohttp apps on a free loopback port of this event loop; the tests use them for
speed and for the knobs ``create_app`` takes. Separate processes (``processes.py``) keep the daemon's
CPU time and memory its own, which the demo and the benchmark need.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import aiohttp
from aiohttp import web

from sandboxes.kit import hosts as kit_hosts
from sandboxes.world.errors import WorldUsageError
from sandboxes.world.processes import start_sandbox as start_sandbox_process

Knobs = Mapping[str, Mapping[str, Any]]  # sandbox kind -> keyword arguments of its create_app


class Sandbox(Protocol):
    @property
    def kind(self) -> str: ...

    @property
    def url(self) -> str: ...

    @property
    def pid(self) -> int: ...

    async def stop(self) -> None: ...


@dataclass
class InProcessSandbox:
    kind: str
    url: str
    app: web.Application
    runner: web.AppRunner

    @property
    def pid(self) -> int:
        return os.getpid()

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_in_process(kind: str, loopback_hosts: int = 0, **knobs: Any) -> InProcessSandbox:
    """The sandbox on a free port of 127.0.0.1 and, at the same port, ``loopback_hosts`` more addresses."""
    module = importlib.import_module(f"sandboxes.{kind}")
    app = module.create_app(**knobs)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    for host in kit_hosts.loopback_hosts(loopback_hosts):
        await web.TCPSite(runner, host, port).start()
    return InProcessSandbox(kind, f"http://127.0.0.1:{port}", app, runner)


@contextlib.asynccontextmanager
async def running_sandboxes(
    kinds: Sequence[str],
    *,
    in_process: bool,
    knobs: Knobs,
    log_dir: Path,
    session: aiohttp.ClientSession,
    loopback_hosts: Mapping[str, int] | None = None,
) -> AsyncIterator[dict[str, Sandbox]]:
    """Start every kind (processes in parallel); stop them all on exit, whatever happened.
    ``loopback_hosts``: per kind, how many more loopback addresses it answers on (``kit.hosts``)."""
    hosts = loopback_hosts or {}
    if knobs and not in_process:
        raise WorldUsageError(f"sandbox knobs ({', '.join(knobs)}) need in-process sandboxes")
    started: dict[str, Sandbox] = {}

    async def start(kind: str) -> None:
        if in_process:
            started[kind] = await start_in_process(kind, hosts.get(kind, 0), **knobs.get(kind, {}))
        else:
            started[kind] = await start_sandbox_process(kind, log_dir, session, hosts.get(kind, 0))

    try:
        if in_process:
            for kind in kinds:
                await start(kind)
        else:
            results = await asyncio.gather(*(start(kind) for kind in kinds), return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException):
                    raise result
        yield {kind: started[kind] for kind in kinds}
    finally:
        for sandbox in started.values():
            await sandbox.stop()
