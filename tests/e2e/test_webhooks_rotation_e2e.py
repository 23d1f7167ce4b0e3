"""``ffn-sync webhooks --rotate`` with the real daemon, adapters and shop sandboxes: after the rotation and a
reload (SIGHUP, the file unchanged) the WooCommerce and Shopware webhooks carry the new secret/token, orders
still reach FFN in seconds through them, and a delivery made with the old secret or token is refused.
Shopify's rotation is the app secret's: the command explains it and changes nothing."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any

import pytest

from daemon.cli import main
from daemon.store import create_pool
from daemon.store.webhooks import registrations
from tests.e2e.test_webhooks_e2e import LATENCY_LIMIT_S, _until, hooked

ROTATED = ("woocommerce-main", "shopware-main")


@pytest.mark.timeout(300)
@pytest.mark.usefixtures("restore_logging")  # the command line configures logging
async def test_a_rotated_secret_and_token_replace_the_old_ones_at_the_shop_and_the_receiver(
    tmp_path: Path, pg_dsn: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(17)
    async with hooked(tmp_path, pg_dsn, monkeypatch) as h:
        old: dict[str, dict[str, Any]] = {}
        for name in ROTATED:
            number = await h.place(name, rng)
            assert await h.arrival_s(number, time.monotonic(), limit_s=10) is not None
            attempts = (await h.webhooks(h.shops[name]))["attempts"]
            old[name] = next(a for a in attempts if 200 <= a["status"] < 300 and "order" in a["topic"])

        config = ["--config", str(tmp_path / "acme.toml")]
        capsys.readouterr()
        assert await asyncio.to_thread(main, ["webhooks", "--rotate", "acme/shopify-main", *config]) == 0
        assert "webhook_secret_previous" in capsys.readouterr().out
        for name in ROTATED:
            assert await asyncio.to_thread(main, ["webhooks", "--rotate", f"acme/{name}", *config]) == 0
            assert "systemctl reload ffn-sync" in capsys.readouterr().out
        pool = await create_pool(pg_dsn)
        try:
            pending = {r.channel for r in await registrations(pool) if r.rotation_pending}
            assert pending == set(ROTATED)
            h.daemon.request_reload()

            async def rotated() -> bool:
                return not any(r.rotation_pending for r in await registrations(pool))

            await _until(rotated, 30, "both rotations registered at the shops")
        finally:
            await pool.close()

        # The old secret (WooCommerce's signature) and the old token (Shopware's URL) are refused now.
        for name in ROTATED:
            delivery = old[name]
            async with h.http.post(
                delivery["url"], data=delivery["body"].encode(), headers=delivery["headers"]
            ) as response:
                assert response.status == 401, name
        subscriptions = (await h.webhooks(h.shops["shopware-main"]))["subscriptions"]
        assert subscriptions and all(old["shopware-main"]["url"] != s["url"] for s in subscriptions)
        # The shops' deliveries with the new ones are accepted: orders arrive in seconds, not one poll later.
        for name in ROTATED:
            number = await h.place(name, rng)
            latency = await h.arrival_s(number, time.monotonic(), limit_s=10)
            assert latency is not None and latency <= LATENCY_LIMIT_S, (name, latency)
