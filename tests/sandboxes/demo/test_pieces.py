"""The demo's pure pieces: generated config, summary table, percentiles, traffic classification."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.config import load_config
from sandboxes.demo.stats import percentile
from sandboxes.demo.summary import DemoSummary, ShopRow
from sandboxes.world.catalogue import catalogue
from sandboxes.world.merchant import Channel, MerchantFile, Timing, secret_env
from sandboxes.world.shops import SHOPS, ffn_is_write

KINDS = ("shopify", "shopware", "woocommerce")


def test_generated_config_is_valid_and_keeps_secrets_out_of_the_file(tmp_path: Path) -> None:
    channels = [Channel(SHOPS[k].channel, k, f"http://127.0.0.1:{2000 + i}") for i, k in enumerate(KINDS)]
    merchant = MerchantFile(
        "http://127.0.0.1:1001", channels, tmp_path / "state", timing=Timing(orders_s=2.5)
    )
    path = merchant.write(tmp_path / "merchant.toml")
    env = secret_env(KINDS, "postgresql://postgres:@/ffn_sync?host=/tmp")

    config = load_config(path, environ=env)

    merchant = config.merchant("demo")
    assert [c.kind for c in merchant.channels] == list(KINDS)
    assert merchant.product_master == SHOPS["shopify"].channel
    assert merchant.channel("shopify-demo").intervals.orders == 2.5
    assert merchant.ffn.base_url == "http://127.0.0.1:1001/api"
    text = path.read_text()
    for secret in env.values():
        assert secret not in text


def test_generated_config_without_the_environment_is_refused(tmp_path: Path) -> None:
    channels = [Channel("shopify-demo", "shopify", "http://127.0.0.1:2")]
    path = MerchantFile("http://127.0.0.1:1", channels, tmp_path).write(tmp_path / "merchant.toml")
    with pytest.raises(Exception, match="FFN_SYNC_DEMO_FFN_SECRET"):
        load_config(path, environ={})


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([3.0], 0.99) == 3.0
    assert percentile([], 0.5) is None


def test_summary_names_every_flow_that_moved_nothing() -> None:
    idle = DemoSummary(duration_s=10, orders_per_s=1, shops=[ShopRow("shopify", orders_created=5)])
    assert idle.problems() == [
        "orders did not reach FFN (0 outbounds)",
        "no stock level was written to a shop",
    ]

    moving = DemoSummary(
        duration_s=10,
        orders_per_s=1,
        shops=[ShopRow("shopify", 5, 5, 4, 3), ShopRow("woocommerce", 4, 4, 4, 2)],
        ffn_outbounds=9,
        order_latencies_s=[1.0, 2.0],
    )
    assert moving.problems() == []
    table = moving.render()
    assert "total" in table and " 9 " in table.replace("9  ", " 9 ")
    assert "p50 1.00 s" in table


def test_traffic_classification() -> None:
    shopify = SHOPS["shopify"]
    mutation = {
        "method": "POST",
        "path": "/admin/api/2026-10/graphql.json",
        "request_body": '{"query": "mutation SetQuantities($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) { userErrors { field } } }"}',
    }
    query = {
        "method": "POST",
        "path": "/admin/api/2026-10/graphql.json",
        "request_body": '{"query": "query { orders(first: 50) { nodes { id } } }"}',
    }
    assert shopify.is_write(mutation) and shopify.is_stock_write(mutation)
    assert not shopify.is_write(query) and shopify.is_read(query)
    shopware = SHOPS["shopware"]
    assert shopware.is_read({"method": "POST", "path": "/api/search/order"})
    assert not shopware.is_write({"method": "POST", "path": "/api/oauth/token"})
    assert shopware.is_stock_write({"method": "POST", "path": "/api/_action/sync"})
    woo = SHOPS["woocommerce"]
    assert woo.is_stock_write({"method": "POST", "path": "/wp-json/wc/v3/products/batch"})
    assert not woo.is_write({"method": "GET", "path": "/wp-json/wc/v3/orders"})
    assert not ffn_is_write({"method": "POST", "path": "/token"})
    assert ffn_is_write({"method": "POST", "path": "/api/v1/merchant/outbounds"})


def test_catalogue_has_unique_skus_and_valid_eans() -> None:
    products = catalogue(30)
    assert len({p.sku for p in products}) == 30
    for product in products:
        digits = [int(d) for d in product.ean]
        assert len(digits) == 13
        assert sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10 == 0


def test_demo_refuses_unknown_shops_and_bad_durations_with_a_usage_exit_code() -> None:
    from daemon.cli import main
    from daemon.cli.exitcodes import ExitCode

    assert main(["demo", "--shops", "magento"]) == ExitCode.USAGE
    assert main(["demo", "--duration", "0"]) == ExitCode.USAGE
