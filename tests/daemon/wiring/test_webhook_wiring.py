"""The wiring builds, per enabled channel with webhooks on, an endpoint with the right credentials (Shopify's
from the config, WooCommerce's secret and Shopware's token generated and kept) and a nudge that marks the
channel's flow for a read up to now; a channel with webhooks off gets no target, only the access to its shop
for removing ours there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from daemon.config import load_config
from daemon.store import open_database
from daemon.store.migrations import migrate
from daemon.webhooks.types import Delivery, WebhookFlow
from daemon.wiring import build_runtime
from tests.daemon.webhooks.fake import FakeWebhooks

ENV = {
    "FFN_SECRET": "ffn-secret-value-1234",
    "SHOP_TOKEN": "shpat_token-value-5678",
    "APP_SECRET": "app-secret-value-9abc",
    "SW_SECRET": "sw-secret-value-def0",
    "WC_KEY": "ck_key-value-1111",
    "WC_SECRET": "cs_secret-value-2222",
}

CONFIG = """
[merchant]
id = "acme"
ffn_merchant_id = "MERC"
warehouse_id = "FULF04XX-12345-0001"
fulfiller_id = "FULF"
product_master = "shopify-main"

[ffn]
base_url = "http://127.0.0.1:1/api"
client_id = "client"
client_secret = "env:FFN_SECRET"

[webhooks]
public_url = "https://sync.example.com/ffn"

[[channels]]
name = "shopify-main"
kind = "shopify"
base_url = "http://127.0.0.1:1"
webhooks = true
[channels.credentials]
access_token = "env:SHOP_TOKEN"
location_id = "1"
webhook_secret = "env:APP_SECRET"
[channels.orders]
import_since = 2026-01-01T00:00:00Z

[[channels]]
name = "sw"
kind = "shopware"
base_url = "http://127.0.0.1:2"
webhooks = true
[channels.credentials]
client_id = "SWIAEXAMPLE"
client_secret = "env:SW_SECRET"
[channels.orders]
import_since = 2026-01-01T00:00:00Z

[[channels]]
name = "woo"
kind = "woocommerce"
base_url = "http://127.0.0.1:3"
webhooks = true
[channels.credentials]
consumer_key = "env:WC_KEY"
consumer_secret = "env:WC_SECRET"
[channels.orders]
import_since = 2026-01-01T00:00:00Z

[[channels]]
name = "woo-quiet"
kind = "woocommerce"
base_url = "http://127.0.0.1:4"
[channels.credentials]
consumer_key = "env:WC_KEY"
consumer_secret = "env:WC_SECRET"
[channels.orders]
import_since = 2026-01-01T00:00:00Z
"""


async def test_endpoints_credentials_targets_and_nudges(
    tmp_path: Path, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    supports: dict[str, FakeWebhooks] = {}

    def load_support(kind: str, shop: Any) -> FakeWebhooks:
        assert type(shop).__name__ != "GuardedChannel"  # the adapter itself, not its write guard
        return supports.setdefault(kind, FakeWebhooks())

    monkeypatch.setattr("daemon.wiring.webhooks.load_support", load_support)
    path = tmp_path / "acme.toml"
    path.write_text(CONFIG)
    config = load_config(path, environ=ENV)
    async with open_database(pg_dsn, tmp_path / "state") as db:
        await migrate(db.pool)
        runtime = await build_runtime(config, db, exclusive=False)
        again = await build_runtime(config, db, exclusive=False)  # a reload
        try:
            hooks = {e.channel: e for e in runtime.webhooks.endpoints}
            assert set(hooks) == {"shopify-main", "sw", "woo"}
            shopify, sw, woo = hooks["shopify-main"], hooks["sw"], hooks["woo"]
            assert [s.reveal() for s in shopify.credentials.secrets] == ["app-secret-value-9abc"]
            assert sw.credentials.token is not None and sw.credentials.secrets == ()
            assert len(woo.credentials.secrets) == 1 and woo.credentials.token is None
            # Generated once, kept across a rebuild (a new one would mean re-registering everything).
            again_hooks = {e.channel: e for e in again.webhooks.endpoints}
            assert again_hooks["sw"].credentials == sw.credentials
            assert again_hooks["woo"].credentials == woo.credentials
            assert shopify.flows == {WebhookFlow.ORDERS, WebhookFlow.PRODUCTS}
            assert woo.flows == {WebhookFlow.ORDERS}

            products = Delivery("products/update", WebhookFlow.PRODUCTS, None)
            assert shopify.nudge(products) == "acme/shopify-main/products"
            assert woo.nudge(Delivery("order.created", WebhookFlow.ORDERS, None)) == "acme/woo/orders"
            ctx = runtime.contexts[0]
            assert ctx.nudges.pending("woo", "orders") and ctx.nudges.pending("shopify-main", "products")

            targets = {t.channel: t for t in runtime.webhooks.targets}
            # Off: no target; the leftovers pass reaches its shop (if ours were ever made there) through
            # the merchant file's credentials; a channel the file does not have cannot be reached.
            assert "woo-quiet" not in targets
            connect = runtime.webhooks.connect
            assert connect is not None
            quiet = connect("acme", "woo-quiet", "woocommerce")
            assert quiet is not None and quiet.shop_url == "http://127.0.0.1:4"
            assert quiet.address_prefix == "https://sync.example.com/ffn/webhooks/acme/woo-quiet"
            assert quiet.why == "webhooks switched off for the channel"
            assert connect("acme", "gone", "woocommerce") is None
            assert connect("acme", "woo-quiet", "shopware") is None  # same name, another shop kind
            assert targets["woo"].shop_url == "http://127.0.0.1:3" and targets["woo"].endpoint is woo
            assert targets["sw"].address_prefix == "https://sync.example.com/ffn/webhooks/acme/sw"
            assert targets["sw"].address.endswith("/" + sw.credentials.token.reveal())  # type: ignore[union-attr]
            assert targets["shopify-main"].topics == ("orders/create", "orders/updated", "products/update")
        finally:
            await runtime.aclose()
            await again.aclose()
