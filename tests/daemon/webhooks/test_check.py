"""``ffn-sync check`` asks each shop with webhooks on which of our subscriptions it has (live, not the
database's record): missing ones before the daemon registered them, all active after."""

from __future__ import annotations

from pathlib import Path

from daemon.cli.check import verify_webhooks
from daemon.config import load_config
from daemon.secrets import Secret
from daemon.webhooks.types import WebhookCredentials, WebhookFlow
from daemon.wiring.clients import build_channel
from daemon.wiring.webhooks import load_support
from sandboxes.shopify import TEST_APP_SECRET, TEST_TOKEN
from sandboxes.world.running import start_in_process as start_sandbox

CONFIG = """
[merchant]
id = "acme"
ffn_merchant_id = "MERC"
warehouse_id = "FULF04XX-12345-0001"
fulfiller_id = "FULF"
product_master = "shop"

[ffn]
base_url = "http://127.0.0.1:1/api"
client_id = "client"
client_secret = "env:FFN_SECRET"

[webhooks]
public_url = "http://127.0.0.1:9"

[[channels]]
name = "shop"
kind = "shopify"
base_url = "{url}"
webhooks = true
[channels.credentials]
access_token = "env:SHOP_TOKEN"
location_id = "1000001"
webhook_secret = "env:APP_SECRET"
[channels.orders]
import_since = 2026-01-01T00:00:00Z
"""


async def test_check_lists_missing_then_registered_subscriptions(tmp_path: Path) -> None:
    sandbox = await start_sandbox("shopify")
    try:
        path = tmp_path / "acme.toml"
        path.write_text(CONFIG.format(url=sandbox.url))
        env = {"FFN_SECRET": "ffn-secret-value", "SHOP_TOKEN": TEST_TOKEN, "APP_SECRET": TEST_APP_SECRET}
        config = load_config(path, environ=env)

        ((label, before),) = await verify_webhooks(config)
        assert label == "acme/shop"
        assert before.startswith("0/6 topics registered and active; missing: orders/create")

        channel = config.merchants[0].channels[0]
        shop = build_channel(channel)
        try:
            support = load_support("shopify", shop)
            assert support is not None
            prefix = "http://127.0.0.1:9/webhooks/acme/shop"
            topics = support.topics({WebhookFlow.ORDERS, WebhookFlow.PRODUCTS})
            credentials = WebhookCredentials(secrets=(Secret(TEST_APP_SECRET),))
            await support.register(prefix, topics, credentials, address_prefix=prefix)
        finally:
            await shop.aclose()

        ((_, after),) = await verify_webhooks(config)
        assert after == "6/6 topics registered and active"
    finally:
        await sandbox.runner.cleanup()
