"""CPU seconds of the other processes (sandboxes, Postgres), to say where a run's wall time went."""

from __future__ import annotations

import os
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
