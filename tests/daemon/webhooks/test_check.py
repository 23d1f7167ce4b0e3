"""``ffn-sync check`` asks each shop with webhooks on which of our subscriptions it has (live, not the
database's record): missing ones before the daemon registered them, all active after; each address compared
whole (scheme, host, port, path and Shopware's token), a mismatch named "wrong address"."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.cli.check import verify_webhooks
from daemon.config import load_config
from daemon.secrets import Secret
from daemon.store import create_pool, migrate
from daemon.store.webhooks import channel_credential
from daemon.webhooks.audit import audit, same_address
from daemon.webhooks.types import Subscription, WebhookCredentials, WebhookFlow
from daemon.wiring.clients import build_channel
from daemon.wiring.webhooks import load_support
from sandboxes.shopify import TEST_APP_SECRET, TEST_TOKEN
from sandboxes.world.merchant import secret_env
from sandboxes.world.running import start_in_process as start_sandbox
from sandboxes.world.shops import SHOPS
from tests.e2e.stack import ENV_PREFIX

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


SHOPWARE_CONFIG = """
[merchant]
id = "acme"
ffn_merchant_id = "MERC"
warehouse_id = "FULF04XX-12345-0001"
fulfiller_id = "FULF"
product_master = "sw"

[database]
dsn = "env:E2E_DSN"

[ffn]
base_url = "http://127.0.0.1:1/api"
client_id = "client"
client_secret = "env:E2E_FFN_SECRET"

[webhooks]
public_url = "http://127.0.0.1:9"

[[channels]]
name = "sw"
kind = "shopware"
base_url = "{url}"
webhooks = true
[channels.credentials]
{credentials}
[channels.orders]
import_since = 2026-01-01T00:00:00Z
"""


async def test_check_compares_the_whole_address_and_names_a_wrong_token(tmp_path: Path, pg_dsn: str) -> None:
    sandbox = await start_sandbox("shopware")
    pool = await create_pool(pg_dsn)
    try:
        await migrate(pool)
        credentials = "\n".join(SHOPS["shopware"].credentials(ENV_PREFIX))
        path = tmp_path / "acme.toml"
        path.write_text(SHOPWARE_CONFIG.format(url=sandbox.url, credentials=credentials))
        config = load_config(
            path, environ={**secret_env(["shopware"], pg_dsn, ENV_PREFIX), "E2E_DSN": pg_dsn}
        )
        token = await channel_credential(pool, "acme", "sw", "shopware")
        prefix = "http://127.0.0.1:9/webhooks/acme/sw"

        async def register(address: str, token: Secret) -> None:
            shop = build_channel(config.merchants[0].channels[0])
            try:
                support = load_support("shopware", shop)
                assert support is not None
                topics = support.topics({WebhookFlow.ORDERS, WebhookFlow.PRODUCTS})
                await support.register(
                    address, topics, WebhookCredentials(token=token), address_prefix=prefix
                )
            finally:
                await shop.aclose()

        # Under our prefix, but with a token the receiver does not accept (e.g. left from an old database).
        stale = Secret("stale-token-0123456789abcdefghijklmnopqrstuvwxyz")
        await register(f"{prefix}/{stale.reveal()}", stale)
        ((label, verdict),) = await verify_webhooks(config)
        assert label == "acme/sw"
        assert verdict == (
            "0/4 topics registered and active; wrong address: checkout.order.placed,"
            " state_enter.order_transaction.state.paid, state_enter.order.state.cancelled, product.written"
            " (the next registration pass fixes it: at start, on reload or hourly)"
        )
        assert token.reveal() not in verdict and stale.reveal() not in verdict

        await register(f"{prefix}/{token.reveal()}", token)
        ((_, verdict),) = await verify_webhooks(config)
        assert verdict == "4/4 topics registered and active"
    finally:
        await pool.close()
        await sandbox.runner.cleanup()


@pytest.mark.parametrize(
    ("registered", "expected", "same"),
    [
        ("https://Sync.Example.com/webhooks/a/b/T", "https://sync.example.com/webhooks/a/b/T", True),
        ("https://sync.example.com:443/webhooks/a/b", "https://sync.example.com/webhooks/a/b", True),
        ("HTTP://sync.example.com:80/webhooks/a/b", "http://sync.example.com/webhooks/a/b", True),
        ("http://sync.example.com/webhooks/a/b", "https://sync.example.com/webhooks/a/b", False),
        ("https://sync.example.com:8443/webhooks/a/b", "https://sync.example.com/webhooks/a/b", False),
        ("https://other.example.com/webhooks/a/b", "https://sync.example.com/webhooks/a/b", False),
        ("https://sync.example.com/webhooks/a/b/OLD", "https://sync.example.com/webhooks/a/b/NEW", False),
        ("https://sync.example.com/webhooks/a/b/t", "https://sync.example.com/webhooks/a/b/T", False),
        ("https://sync.example.com/webhooks/a/b?x=1", "https://sync.example.com/webhooks/a/b", False),
    ],
)
def test_same_address_compares_scheme_host_port_path_and_token(
    registered: str, expected: str, same: bool
) -> None:
    assert same_address(registered, expected) is same


def test_the_verdict_names_missing_wrong_disabled_and_unwanted_topics() -> None:
    want = "https://s.example.com/webhooks/a/b"
    subs = [
        Subscription("orders/create", want, "1", True),
        Subscription("orders/updated", "https://s.example.com:8443/webhooks/a/b", "2", True),
        Subscription("orders/cancelled", want, "3", False),
        Subscription("products/update", want, "4", True),
    ]
    verdict = audit(
        ["orders/create", "orders/updated", "orders/cancelled", "fulfillment_orders/hold_released"],
        subs,
        want,
    )
    fixes = "(the next registration pass fixes it: at start, on reload or hourly)"
    assert verdict == (
        "1/4 topics registered and active; missing: fulfillment_orders/hold_released;"
        f" wrong address: orders/updated {fixes}; disabled by the shop: orders/cancelled (run re-enables them);"
        f" no longer wanted: products/update {fixes}"
    )
