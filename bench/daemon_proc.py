"""The daemon as its own process (``python -m daemon once|run``), measured alone with ``wait4`` rusage.

The sandboxes and the embedded Postgres are other processes, so the CPU seconds and the peak RSS reported
here are the daemon's only.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sandboxes.world.errors import WorldError
from sandboxes.world.stage import Stage

DEFAULT_TIMEOUT_S = 1800.0
PROFILE = False  # `python -m bench --profile`: every daemon run under cProfile, stats next to its log


@dataclass(frozen=True)
class ProcessCost:
    wall_s: float
    cpu_s: float  # user + system
    peak_rss_mb: float
    exit_code: int

    def minus(self, baseline: ProcessCost) -> tuple[float, float]:
        """(wall, cpu) above a baseline run that did no work: start-up and empty polls taken out."""
        return max(1e-9, self.wall_s - baseline.wall_s), max(0.0, self.cpu_s - baseline.cpu_s)


class DaemonProcess:
    """One daemon process; ``finish`` waits for it (SIGTERM first when ``stop``) and returns its cost."""

    def __init__(self, stage: Stage, command: str, log_name: str, args: Sequence[str] = ()) -> None:
        self.log_path = stage.work_dir / f"{log_name}.log"
        argv = [*stage.daemon_argv(command), *args]
        if PROFILE:
            self.profile_path: Path | None = stage.work_dir / f"{log_name}.prof"
            argv[1:1] = ["-m", "cProfile", "-o", str(self.profile_path)]
        else:
            self.profile_path = None
        with Path(self.log_path).open("ab") as log:
            self.process = subprocess.Popen(
                argv, env=stage.daemon_env(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        self.started = time.monotonic()

    def running(self) -> bool:
        """Without reaping it (``poll`` would, and ``wait4`` could then no longer read the rusage)."""
        result = os.waitid(os.P_PID, self.process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        return result is None

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    async def finish(self, *, stop: bool = False, timeout_s: float = DEFAULT_TIMEOUT_S) -> ProcessCost:
        if stop:
            self.process.send_signal(signal.SIGTERM)
        pid = self.process.pid
        try:
            _, status, usage = await asyncio.wait_for(asyncio.to_thread(os.wait4, pid, 0), timeout_s)
        except TimeoutError:
            self.process.kill()
            raise WorldError(f"the daemon ran longer than {timeout_s:.0f} s; log {self.log_path}") from None
        wall = time.monotonic() - self.started
        code = os.waitstatus_to_exitcode(status)
        self.process.returncode = code  # reaped by wait4; keep Popen from waiting again
        return ProcessCost(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0, code)


async def run_once(stage: Stage, log_name: str, *, require_ok: bool = True) -> ProcessCost:
    """``ffn-sync once``: every flow once, then exit."""
    proc = DaemonProcess(stage, "once", log_name)
    cost = await proc.finish()
    if require_ok and cost.exit_code != 0:
        raise WorldError(
            f"`ffn-sync once` exited {cost.exit_code} ({log_name}); log {proc.log_path}:\n{proc.log_tail()}"
        )
    return cost
