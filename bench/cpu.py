"""CPU seconds of the other processes (sandboxes, Postgres), to say where a run's wall time went."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import os
import time
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int, *, with_children: bool = False) -> float:
    """user + system of ``pid`` (plus its reaped children: Postgres backends that already exited)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    # After the command name: state is fields[0], so utime/stime/cutime/cstime are fields[11..14].
    ticks = int(fields[11]) + int(fields[12])
    if with_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / _TICKS


def postmaster_pid(pgdata: Path) -> int | None:
    try:
        return int((pgdata / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


def postgres_cpu_s(pgdata: Path) -> float:
    """The whole server: the postmaster, its reaped backends, and the backends still running."""
    master = postmaster_pid(pgdata)
    if master is None:
        return 0.0
    total = process_cpu_s(master, with_children=True)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _parent(int(entry.name)) == master:
            total += process_cpu_s(int(entry.name))
    return total


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


class CpuMeter:
    """CPU seconds each watched process spent between ``start`` and ``stop``."""

    def __init__(self, pids: dict[str, int], pgdata: Path | None = None) -> None:
        self.pids = pids
        self.pgdata = pgdata
        self._start: dict[str, float] = {}
        self.spent: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        now = {name: process_cpu_s(pid) for name, pid in self.pids.items()}
        if self.pgdata is not None:
            now["postgres"] = postgres_cpu_s(self.pgdata)
        return now

    def start(self) -> None:
        self._start = self._now()

    def stop(self) -> dict[str, float]:
        end = self._now()
        self.spent = {name: max(0.0, end[name] - self._start.get(name, 0.0)) for name in end}
        return self.spent


class CpuTrace:
    """CPU seconds of each watched process sampled every ``interval_s`` (epoch time, CPU s), so the CPU a
    process spent inside a span the sandboxes' request logs date (``between``) can be read afterwards.

    A few /proc reads per sample (Postgres is left out: its backends would need a walk of /proc)."""

    def __init__(self, interval_s: float = 0.01) -> None:
        self.interval_s = interval_s
        self.pids: dict[str, int] = {}
        self.samples: dict[str, list[tuple[float, float]]] = {}
        self._task: asyncio.Task[None] | None = None

    def watch(self, name: str, pid: int) -> None:
        self.pids[name] = pid
        self.samples.setdefault(name, []).append((time.time(), process_cpu_s(pid)))

    def start(self) -> None:
        self._task = asyncio.create_task(self._sample(), name="cpu-trace")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._take()

    async def _sample(self) -> None:
        while True:
            self._take()
            await asyncio.sleep(self.interval_s)

    def _take(self) -> None:
        now = time.time()
        for name, pid in self.pids.items():
            spent = process_cpu_s(pid)
            if spent or not self.samples[name]:  # 0.0: gone (reaped); keep the last reading
                self.samples[name].append((now, spent))

    def between(self, name: str, start: float, end: float) -> float:
        return max(0.0, _at(self.samples.get(name, []), end) - _at(self.samples.get(name, []), start))


def _at(samples: list[tuple[float, float]], moment: float) -> float:
    """CPU seconds at ``moment``, linear between the samples around it (clamped to the first and last)."""
    if not samples:
        return 0.0
    index = bisect.bisect_left(samples, (moment, -1.0))
    if index == 0:
        return samples[0][1]
    if index >= len(samples):
        return samples[-1][1]
    (t0, c0), (t1, c1) = samples[index - 1], samples[index]
    return c0 + (c1 - c0) * ((moment - t0) / (t1 - t0) if t1 > t0 else 1.0)
