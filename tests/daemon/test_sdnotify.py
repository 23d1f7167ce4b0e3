from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.sdnotify import Notifier


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(str(path))
        server.settimeout(5)
        yield server, str(path)


def test_ready_watchdog_stopping_and_status_arrive_as_datagrams(
    notify_socket: tuple[socket.socket, str],
) -> None:
    server, path = notify_socket
    notifier = Notifier({"NOTIFY_SOCKET": path})

    assert notifier.ready("running 3 job(s)")
    assert server.recv(4096) == b"READY=1\nSTATUS=running 3 job(s)"
    assert notifier.watchdog()
    assert server.recv(4096) == b"WATCHDOG=1"
    assert notifier.status("reloading")
    assert server.recv(4096) == b"STATUS=reloading"
    assert notifier.stopping()
    assert server.recv(4096) == b"STOPPING=1"


def test_abstract_namespace_socket() -> None:
    name = f"ffn-sync-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind("\0" + name)
        server.settimeout(5)
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).ready()
        assert server.recv(4096) == b"READY=1"


def test_without_notify_socket_nothing_is_sent() -> None:
    notifier = Notifier({})
    assert not notifier.enabled
    assert not notifier.ready()
    assert not notifier.watchdog()


def test_a_vanished_socket_does_not_raise(tmp_path: Path) -> None:
    assert not Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")}).ready()


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"WATCHDOG_USEC": "60000000"}, 30.0),
        ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": str(os.getpid())}, 30.0),
        ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "1"}, None),  # meant for another process
        ({"WATCHDOG_USEC": "0"}, None),
        ({}, None),
    ],
)
def test_watchdog_interval_is_half_of_watchdog_usec(environ: dict[str, str], expected: float | None) -> None:
    assert Notifier(environ).watchdog_interval_s == expected


async def test_watchdog_loop_pets_repeatedly_from_the_event_loop(
    notify_socket: tuple[socket.socket, str],
) -> None:
    server, path = notify_socket
    server.setblocking(False)
    notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "20000"})  # pet every 10 ms
    task = asyncio.create_task(notifier.watchdog_loop())
    loop = asyncio.get_running_loop()
    try:
        received = [await asyncio.wait_for(loop.sock_recv(server, 4096), 5) for _ in range(3)]
    finally:
        task.cancel()
    assert received == [b"WATCHDOG=1"] * 3


async def test_watchdog_loop_returns_at_once_without_watchdog(
    notify_socket: tuple[socket.socket, str],
) -> None:
    _, path = notify_socket
    await asyncio.wait_for(Notifier({"NOTIFY_SOCKET": path}).watchdog_loop(), 1)
