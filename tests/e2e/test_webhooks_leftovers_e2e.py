"""Webhooks of channels no longer configured, with the real daemon, wiring, adapters and shop sandboxes: after a
reload that switches webhooks off for one channel, disables another and removes the third from the merchant
file, ours are deleted at the first two shops (one INFO line each, rows gone) and the third shop's remain
with a WARNING that names them and how to delete them by hand."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from loguru import logger

from daemon.store import create_pool
from daemon.store.webhooks import registrations
from tests.e2e.test_webhooks_e2e import Hooked, _until, config_text
from tests.e2e.test_webhooks_e2e import hooked as hooked_daemon


@pytest.fixture
def records() -> Iterator[list[Any]]:
    captured: list[Any] = []
    handler = logger.add(lambda m: captured.append(m.record), level="INFO", format="{message}")
    yield captured
    logger.remove(handler)


def reconfigured(h: Hooked, state: Path) -> str:
    """shopify-main gone from the file, shopware-main with webhooks off, woocommerce-main disabled."""
    shops = {name: shop for name, shop in h.shops.items() if name != "shopify-main"}
    text = config_text(h.ffn, shops, state, h.port)
    head, *channels = text.split("[[channels]]\n")
    edited = []
    for block in channels:
        if 'name = "shopware-main"' in block:
            block = block.replace("webhooks = true", "webhooks = false")
        if 'name = "woocommerce-main"' in block:
            block = block.replace("webhooks = true", "webhooks = true\nenabled = false")
        edited.append(block)
    return "[[channels]]\n".join([head, *edited])


@pytest.mark.timeout(300)
async def test_a_reload_deletes_ours_of_channels_no_longer_configured(
    tmp_path: Path, pg_dsn: str, monkeypatch: pytest.MonkeyPatch, records: list[Any]
) -> None:
    async with hooked_daemon(tmp_path, pg_dsn, monkeypatch) as h:
        before = {name: (await h.webhooks(shop))["subscriptions"] for name, shop in h.shops.items()}
        assert all(before.values())
        (tmp_path / "acme.toml").write_text(reconfigured(h, tmp_path / "state"))
        records.clear()
        h.daemon.request_reload()

        async def removed() -> bool:
            shops = h.shops
            return (
                not (await h.webhooks(shops["shopware-main"]))["subscriptions"]
                and not (await h.webhooks(shops["woocommerce-main"]))["subscriptions"]
            )

        await _until(removed, 30, "ours deleted at the shopware and woocommerce sandboxes")
        pool = await create_pool(pg_dsn)
        try:

            async def forgotten() -> bool:
                return await registrations(pool) == []

            await _until(forgotten, 10, "the three registrations forgotten")
        finally:
            await pool.close()
        # Shopify's stay: ffn-sync no longer has the credentials to reach that shop.
        assert len((await h.webhooks(h.shops["shopify-main"]))["subscriptions"]) == len(
            before["shopify-main"]
        )

        infos = [r["message"] for r in records if r["level"].name == "INFO"]
        for name, why in (
            ("shopware-main", "webhooks switched off for the channel"),
            ("woocommerce-main", "the channel is disabled"),
        ):
            deleted = [m for m in infos if m.startswith(f"webhooks of acme/{name}: deleted ")]
            assert len(deleted) == len(before[name]), deleted
            assert all(m.endswith(f"at the shop ({why})") for m in deleted)
        (warning,) = [
            r["message"]
            for r in records
            if r["level"].name == "WARNING" and "acme/shopify-main" in r["message"]
        ]
        assert h.shops["shopify-main"].url in warning and "webhookSubscriptionDelete" in warning
        assert all(
            f"id {sub['id']}" in warning or str(sub["id"]) in warning for sub in before["shopify-main"]
        )
