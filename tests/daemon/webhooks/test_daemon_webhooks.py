"""The daemon serves the runtime's webhook endpoints: a delivery runs the channel's job at once, registration
runs in the background, and a changed [webhooks] section waits for a restart."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from loguru import logger

from daemon.runtime import EmptyRuntime, JobSpec
from daemon.sdnotify import Notifier
from daemon.webhooks.endpoint import Endpoint
from daemon.webhooks.registration import Target
from daemon.webhooks.service import WebhookSet
from daemon.webhooks.types import WebhookCredentials, WebhookFlow
from tests.daemon.test_cli import SECRETS, merchant_toml
from tests.daemon.webhooks.fake import SECRET, FakeWebhooks, headers

BODY = b'{"id": 1}'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def config_text(state: Path, port: int) -> str:
    text = merchant_toml(state).replace(
        'base_url = "http://127.0.0.1:1"\n', 'base_url = "http://127.0.0.1:1"\nwebhooks = true\n'
    )
    return text + f'\n[webhooks]\nport = {port}\npublic_url = "http://127.0.0.1:{port}"\n'


class HookedFactory:
    def __init__(self) -> None:
        self.runs = 0
        self.support = FakeWebhooks()

    async def __call__(self, config: Any, db: Any) -> EmptyRuntime:
        async def orders() -> None:
            self.runs += 1

        runtime = EmptyRuntime()
        runtime.jobs = [JobSpec("acme", "shop-main", "orders", 3600.0, orders)]
        credentials = WebhookCredentials(secrets=(SECRET,))
        endpoint = Endpoint(
            "acme", "shop-main", "fake", self.support, credentials, frozenset({WebhookFlow.ORDERS}),
            lambda flow: "acme/shop-main/orders",
        )  # fmt: skip
        prefix = f"{config.webhooks.public_url}/webhooks/acme/shop-main"
        target = Target("acme", "shop-main", "fake", self.support, credentials, ("orders/create",), prefix)
        runtime.webhooks = WebhookSet(endpoints=(endpoint,), targets=(target,))  # type: ignore[attr-defined]
        return runtime


async def wait_until(predicate: Callable[[], bool], limit_s: float = 10.0) -> None:
    async with asyncio.timeout(limit_s):
        while not predicate():  # noqa: ASYNC110 - daemon state has no event to wait on
            await asyncio.sleep(0.01)


async def test_a_delivery_runs_the_job_now_and_registration_happens_in_the_background(
    tmp_path: Path, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from daemon.app import Daemon
    from daemon.config import load_config

    monkeypatch.setattr(  # no scheduled run in this test
        "daemon.scheduler.first_run_at", lambda name, interval_s, now: now + timedelta(seconds=10_000)
    )
    for key, value in {**SECRETS, "FFN_SYNC_TEST_DSN": pg_dsn}.items():
        monkeypatch.setenv(key, value)
    messages: list[tuple[str, str]] = []
    handler = logger.add(
        lambda m: messages.append((m.record["level"].name, m.record["message"])), level="INFO"
    )
    port = free_port()
    path = tmp_path / "acme.toml"
    path.write_text(config_text(tmp_path / "state", port))
    factory = HookedFactory()
    daemon = Daemon(path, load_config(path), factory=factory, notifier=Notifier({}))
    task = asyncio.create_task(daemon.run())
    try:
        await wait_until(lambda: factory.support.calls != [])
        address = f"http://127.0.0.1:{port}/webhooks/acme/shop-main"
        async with aiohttp.ClientSession() as session:
            async with session.post(address, data=BODY, headers=headers(BODY, SECRET.reveal())) as response:
                assert response.status == 200
            await wait_until(lambda: factory.runs == 1)
            async with session.post(address, data=BODY, headers=headers(BODY, "forged")) as response:
                assert response.status == 401

        path.write_text(config_text(tmp_path / "state", free_port()))
        daemon.request_reload()
        await wait_until(lambda: any("[webhooks] changed" in m for _, m in messages))
        async with aiohttp.ClientSession() as session:  # still served on the old port after the reload
            later = BODY + b" "  # another delivery: the same body again would be a replay
            signed = headers(later, SECRET.reveal(), delivery_id="d-2")
            async with session.post(address, data=later, headers=signed) as response:
                assert response.status == 200
        await wait_until(lambda: factory.runs == 2)
    finally:
        daemon.request_stop()
        exit_code = await asyncio.wait_for(task, 30)
        logger.remove(handler)
    assert exit_code == 0
    assert factory.runs == 2
    assert ("INFO", "webhooks of acme/shop-main: created orders/create") in messages
    assert ("WARNING", "[webhooks] changed: takes effect after a restart") in messages
    # Registered at the address still served, not at the one that takes effect after the restart.
    assert {address for address, _, _ in factory.support.calls} == {
        f"http://127.0.0.1:{port}/webhooks/acme/shop-main"
    }


async def test_a_taken_port_refuses_to_start_and_says_which(
    tmp_path: Path, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from daemon.app import Daemon
    from daemon.config import load_config
    from daemon.webhooks.service import WebhookListenError

    for key, value in {**SECRETS, "FFN_SYNC_TEST_DSN": pg_dsn}.items():
        monkeypatch.setenv(key, value)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        path = tmp_path / "acme.toml"
        path.write_text(config_text(tmp_path / "state", port))
        daemon = Daemon(path, load_config(path), factory=HookedFactory(), notifier=Notifier({}))
        with pytest.raises(
            WebhookListenError, match=f"cannot listen on 127.0.0.1:{port} for webhooks"
        ) as caught:
            await daemon.run()
    assert caught.value.exit_code == 78


async def test_a_nudge_another_instance_hands_over_runs_the_job_here(
    tmp_path: Path, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from daemon.app import Daemon
    from daemon.config import load_config
    from daemon.store import create_pool
    from daemon.store.wake import announce_nudge

    monkeypatch.setattr(  # no scheduled run in this test
        "daemon.scheduler.first_run_at", lambda name, interval_s, now: now + timedelta(seconds=10_000)
    )
    for key, value in {**SECRETS, "FFN_SYNC_TEST_DSN": pg_dsn}.items():
        monkeypatch.setenv(key, value)
    path = tmp_path / "acme.toml"
    path.write_text(config_text(tmp_path / "state", free_port()))
    factory = HookedFactory()
    daemon = Daemon(path, load_config(path), factory=factory, notifier=Notifier({}))
    task = asyncio.create_task(daemon.run())
    pool = await create_pool(pg_dsn)
    try:
        await wait_until(lambda: factory.support.calls != [])
        async with asyncio.timeout(10):
            while factory.runs == 0:  # the listener connects in the background: until then nobody hears
                await announce_nudge(pool, "acme", "unknown-channel", "orders", False)  # refused
                await announce_nudge(pool, "acme", "shop-main", "orders", True)
                await asyncio.sleep(0.05)
    finally:
        await pool.close()
        daemon.request_stop()
        exit_code = await asyncio.wait_for(task, 30)
    assert exit_code == 0 and factory.runs >= 1
