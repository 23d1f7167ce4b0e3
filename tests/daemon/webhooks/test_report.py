"""Webhook health per channel (healthy / silent / unregistered / off) and the commands that show it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from daemon.cli import main
from daemon.cli.exitcodes import ExitCode
from daemon.store import create_pool, migrate
from daemon.store.webhooks import Registration, record_registration
from daemon.webhooks.report import webhook_health
from tests.daemon.test_cli import SECRETS, merchant_toml

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def registration(
    state: str = "registered", *, delivered: timedelta | None = None, since: timedelta = HOUR
) -> Registration:
    return Registration(
        merchant_id="acme",
        channel="shop",
        kind="shopware",
        state=state,
        topics=("checkout.order.placed",),
        subscriptions=(),
        last_error=None,
        last_registered_at=NOW - since,
        last_delivery_at=None if delivered is None else NOW - delivered,
        address_prefix=None,
        registered_since=NOW - since if state == "registered" else None,
    )


@pytest.mark.parametrize(
    ("enabled", "row", "health"),
    [
        (False, registration(), "off"),
        (True, None, "unregistered"),
        (True, registration("failed"), "unregistered"),
        (True, registration("pending"), "unregistered"),
        (True, registration(since=2 * HOUR), "healthy"),  # registered, nothing expected yet
        (True, registration(since=4 * HOUR), "silent"),  # registered 4 h ago, never a delivery
        (True, registration(since=9 * HOUR, delivered=HOUR), "healthy"),
        (True, registration(since=9 * HOUR, delivered=4 * HOUR), "silent"),
    ],
)
def test_health(enabled: bool, row: Registration | None, health: str) -> None:
    assert webhook_health(enabled, row, silent_after_s=3 * 3600, now=NOW) == health


def hooked_config(tmp_path: Path) -> Path:
    text = merchant_toml(tmp_path / "state").replace(
        'base_url = "http://127.0.0.1:1"\n', 'base_url = "http://127.0.0.1:1"\nwebhooks = true\n'
    )
    text += '\n[webhooks]\npublic_url = "https://sync.example.com"\n'
    (tmp_path / "acme.toml").write_text(text)
    return tmp_path


async def test_webhooks_and_status_show_each_channel(
    tmp_path: Path,
    pg_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
    restore_logging: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("FFN_SYNC_TEST_DSN", pg_dsn)
    config = hooked_config(tmp_path)
    pool = await create_pool(pg_dsn)
    try:
        await migrate(pool)
        await record_registration(
            pool, "acme", "shop-main", "shopware", state="registered", topics=("checkout.order.placed",),
            subscriptions=[{"topic": "checkout.order.placed", "remote_id": "x", "active": True}], error=None,
            at=datetime.now(UTC) - timedelta(hours=4),
        )  # fmt: skip
    finally:
        await pool.close()

    def run(*argv: str) -> Awaitable[int]:  # the CLI runs its own event loop
        return asyncio.to_thread(main, [*argv, "--config", str(config)])

    assert await run("webhooks", "--json") == ExitCode.OK
    (row,) = orjson.loads(capsys.readouterr().out)
    assert (row["channel"], row["health"], row["state"], row["active_at_shop"]) == (
        "shop-main",
        "silent",
        "registered",
        1,
    )

    assert await run("status") == ExitCode.OK
    out = capsys.readouterr().out
    assert "WEBHOOKS" in out and "shop-main" in out and "silent" in out
