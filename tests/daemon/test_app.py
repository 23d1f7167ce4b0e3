from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from loguru import logger

from daemon.jobrunner import JobSpec
from daemon.runtime import EmptyRuntime
from daemon.sdnotify import Notifier
from tests.daemon.test_cli import REPO, SECRETS, daemon_env, merchant_toml

STARTUP_LIMIT_S = 120  # a first start initialises an embedded Postgres cluster


class NotifyListener:
    """The systemd side of ``Type=notify``: a datagram socket the daemon reports to."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))

    def expect(self, field: str, limit_s: float, proc: subprocess.Popen[str]) -> list[str]:
        """Datagrams until one contains ``field``; fails early if the daemon exits."""
        seen: list[str] = []
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"daemon exited {proc.returncode} before {field}: {proc.communicate()[1]}")
            self.sock.settimeout(0.5)
            try:
                message = self.sock.recv(4096).decode()
            except TimeoutError:
                continue
            seen.append(message)
            if field in message.split("\n"):
                return seen
        pytest.fail(f"no {field} within {limit_s}s; got {seen}")


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[NotifyListener]:
    listener = NotifyListener(tmp_path / "notify.sock")
    yield listener
    listener.sock.close()


def start_daemon(config_dir: Path, notify: NotifyListener, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "daemon", "run", "--config", str(config_dir)],
        cwd=REPO,
        env=daemon_env(NOTIFY_SOCKET=str(notify.path), WATCHDOG_USEC="2000000", **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def postmasters_of(pgdata: Path) -> list[int]:
    """Pids of Postgres servers running on ``pgdata``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[0].endswith(b"/postgres") and str(pgdata).encode() in argv:
            pids.append(int(entry.name))
    return pids


def kill_leftovers(proc: subprocess.Popen[str], pgdata: Path) -> None:
    """After a failed test: the daemon and the server it may have left behind."""
    if proc.poll() is None:
        proc.kill()
        proc.communicate()
    for pid in postmasters_of(pgdata):
        os.kill(pid, signal.SIGINT)  # fast shutdown


def test_sigterm_stops_within_grace_and_stops_the_embedded_postgres(
    tmp_path: Path, notify: NotifyListener
) -> None:
    state_dir = tmp_path / "state"
    config_dir = tmp_path / "etc"
    config_dir.mkdir()
    (config_dir / "acme.toml").write_text(merchant_toml(state_dir, dsn_env=None, grace_s=5))
    proc = start_daemon(config_dir, notify)
    try:
        notify.expect("READY=1", STARTUP_LIMIT_S, proc)
        assert postmasters_of(state_dir / "pgdata"), "embedded postgres should be running"
        notify.expect("WATCHDOG=1", 5, proc)

        proc.send_signal(signal.SIGTERM)
        notify.expect("STOPPING=1", 10, proc)
        _, stderr = proc.communicate(timeout=5 + 30)  # grace + stopping the embedded server
    finally:
        kill_leftovers(proc, state_dir / "pgdata")

    assert proc.returncode == 0, stderr
    assert "ffn-sync stopped after" in stderr
    # Whether a cycle ran (and failed for want of FFN tokens) before the signal depends on machine load;
    # what the stop itself must never do is crash or report a cycle it cancelled as a failure.
    assert "Traceback" not in stderr, stderr
    assert "crashed" not in stderr, stderr
    assert not postmasters_of(state_dir / "pgdata")
    assert not (state_dir / "pgdata" / "postmaster.pid").exists()
    for secret in SECRETS.values():
        assert secret not in stderr


def test_sighup_with_an_invalid_config_keeps_running(
    tmp_path: Path, notify: NotifyListener, pg_dsn: str
) -> None:
    config = tmp_path / "acme.toml"
    config.write_text(merchant_toml(tmp_path / "state"))
    proc = start_daemon(config, notify, FFN_SYNC_TEST_DSN=pg_dsn)
    try:
        notify.expect("READY=1", STARTUP_LIMIT_S, proc)
        config.write_text(config.read_text().replace('ffn_merchant_id = "MERC"', 'ffn_merchant_id = "M"'))

        proc.send_signal(signal.SIGHUP)
        notify.expect("RELOADING=1", 10, proc)
        notify.expect("READY=1", 10, proc)
        assert proc.poll() is None

        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()

    assert proc.returncode == 0, stderr
    rejected = [line for line in stderr.splitlines() if "new configuration rejected" in line]
    assert len(rejected) == 1 and "ERROR" in rejected[0]
    assert "merchant.ffn_merchant_id" in rejected[0]


class RecordingFactory:
    """One job per enabled channel; remembers every runtime it built."""

    def __init__(self) -> None:
        self.built: list[EmptyRuntime] = []

    async def __call__(self, config: Any, db: Any) -> EmptyRuntime:
        async def noop() -> None:
            return None

        runtime = EmptyRuntime(
            [
                JobSpec(m.id, c.name, "orders", 60.0, noop)
                for m in config.merchants
                for c in m.enabled_channels
            ]
        )
        self.built.append(runtime)
        return runtime


async def wait_until(predicate: Callable[[], bool], limit_s: float = 10.0) -> None:
    async with asyncio.timeout(limit_s):
        while not predicate():  # noqa: ASYNC110 - polls daemon state that has no event to wait on
            await asyncio.sleep(0.01)


async def test_reload_with_a_changed_config_reschedules_and_logs_the_change(
    tmp_path: Path, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from daemon.app import Daemon
    from daemon.config import load_config

    for key, value in {**SECRETS, "FFN_SYNC_TEST_DSN": pg_dsn}.items():
        monkeypatch.setenv(key, value)
    messages: list[str] = []
    handler = logger.add(lambda m: messages.append(m.record["message"]), level="INFO")
    path = tmp_path / "acme.toml"
    path.write_text(merchant_toml(tmp_path / "state"))
    factory = RecordingFactory()
    daemon = Daemon(path, load_config(path), factory=factory, notifier=Notifier({}))
    task = asyncio.create_task(daemon.run())
    try:
        await wait_until(lambda: set(daemon.scheduler.runners) == {"acme/shop-main/orders"})
        assert [h.name for h in daemon.scheduler.health()] == ["acme/shop-main/orders"]

        channels = (("shop-main", "http://127.0.0.1:1"), ("shop-b", "http://127.0.0.1:2"))
        path.write_text(merchant_toml(tmp_path / "state", channels=channels))
        daemon.request_reload()
        await wait_until(lambda: "acme/shop-b/orders" in daemon.scheduler.runners)
        assert factory.built[0].closed
        assert {h.name for h in daemon.scheduler.health()} == {"acme/shop-main/orders", "acme/shop-b/orders"}

        daemon.request_reload()  # nothing changed this time
        await wait_until(lambda: "configuration unchanged" in messages)
        assert len(factory.built) == 2
    finally:
        daemon.request_stop()
        exit_code = await asyncio.wait_for(task, 30)
        logger.remove(handler)

    assert exit_code == 0
    assert factory.built[1].closed
    assert "config change: channel acme/shop-b added" in messages
    assert any(m.startswith("configuration reloaded: 2 job(s)") for m in messages)
    assert any(m.startswith("ffn-sync stopped after") for m in messages)


def test_config_changes_are_described_per_merchant_and_channel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from daemon.app import describe_changes
    from daemon.config import load_config

    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    old_dir, new_dir = tmp_path / "old", tmp_path / "new"
    old_dir.mkdir()
    new_dir.mkdir()
    state = tmp_path / "state"
    (old_dir / "acme.toml").write_text(
        merchant_toml(state, dsn_env=None, channels=(("a", "http://x.test"), ("b", "http://y.test")))
    )
    (old_dir / "bolt.toml").write_text(merchant_toml(state, dsn_env=None, merchant="bolt"))
    (new_dir / "acme.toml").write_text(
        merchant_toml(state, dsn_env=None, channels=(("a", "http://x2.test"), ("c", "http://z.test")))
    )
    (new_dir / "core.toml").write_text(merchant_toml(state, dsn_env=None, merchant="core"))

    changes = describe_changes(load_config(old_dir), load_config(new_dir))

    assert changes == [
        "merchant core added",
        "merchant bolt removed",
        "channel acme/c added",
        "channel acme/b removed",
        "channel acme/a changed",
    ]


async def test_a_running_daemon_trims_the_malloc_heap_at_the_configured_interval(
    tmp_path: Path, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from daemon import heap
    from daemon.app import Daemon
    from daemon.config import load_config

    for key, value in {**SECRETS, "FFN_SYNC_TEST_DSN": pg_dsn, heap.ENV_TRIM_INTERVAL: "120"}.items():
        monkeypatch.setenv(key, value)
    trimming: list[float] = []
    stopped = asyncio.Event()

    async def trim_periodically(interval_s: float) -> None:
        trimming.append(interval_s)
        try:
            await asyncio.Event().wait()
        finally:
            stopped.set()

    monkeypatch.setattr(heap, "trim_periodically", trim_periodically)
    path = tmp_path / "acme.toml"
    path.write_text(merchant_toml(tmp_path / "state"))
    daemon = Daemon(path, load_config(path), factory=RecordingFactory(), notifier=Notifier({}))
    task = asyncio.create_task(daemon.run())
    try:
        await wait_until(lambda: trimming == [120.0])
    finally:
        daemon.request_stop()
        assert await asyncio.wait_for(task, 30) == 0
    assert stopped.is_set()  # the trimming task ends with the daemon
