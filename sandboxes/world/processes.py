"""Vendor sandboxes as separate processes (``ffn-sync sandbox KIND --port N``) on free loopback ports.

Separate processes keep the daemon's event loop, CPU time and memory its own, which is what the
benchmark measures. Each process gets its own session so a Ctrl-C in the terminal reaches only the
demo, which then stops the sandboxes itself after printing its summary.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from sandboxes.world.errors import WorldError
from sandboxes.world.ports import free_port

READY_TIMEOUT_S = 30.0
STOP_GRACE_S = 5.0
_START_ATTEMPTS = 3  # a port handed out by the kernel can be taken before the sandbox binds it


@dataclass
class SandboxProcess:
    kind: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    async def stop(self) -> None:
        await asyncio.to_thread(self.stop_now)

    def stop_now(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(STOP_GRACE_S)


def _spawn(kind: str, port: int, log_path: Path, loopback_hosts: int) -> SandboxProcess:
    command = [sys.executable, "-m", "daemon", "sandbox", kind, "--port", str(port), "--log-level", "WARNING"]
    if loopback_hosts:
        command += ["--loopback-hosts", str(loopback_hosts)]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    return SandboxProcess(kind, port, process, log_path)


async def _wait_ready(sandbox: SandboxProcess, session: aiohttp.ClientSession) -> bool:
    """True once the control API answers; False if the process died first."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    url = f"{sandbox.url}/_sandbox/requests?since=999999999"
    while time.monotonic() < deadline:
        if sandbox.process.poll() is not None:
            return False
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as response:
                if response.status == 200:
                    return True
        await asyncio.sleep(0.1)
    sandbox.stop_now()
    raise WorldError(
        f"the {sandbox.kind} sandbox did not answer on {sandbox.url} within {READY_TIMEOUT_S:.0f} s; "
        f"its output ({sandbox.log_path}):\n{sandbox.log_tail()}"
    )


async def start_sandbox(
    kind: str, log_dir: Path, session: aiohttp.ClientSession, loopback_hosts: int = 0
) -> SandboxProcess:
    """The sandbox process, answering on 127.0.0.1 and ``loopback_hosts`` more addresses (``kit.hosts``)."""
    log_path = log_dir / f"sandbox-{kind}.log"
    for _ in range(_START_ATTEMPTS):
        sandbox = _spawn(kind, free_port(), log_path, loopback_hosts)
        if await _wait_ready(sandbox, session):
            return sandbox
    raise WorldError(
        f"the {kind} sandbox exited during start-up (exit code {sandbox.process.returncode}); "
        f"its output ({log_path}):\n{sandbox.log_tail()}"
    )
