"""``ffn-sync check`` names the Shopify scopes the app lacks (``currentAppInstallation { accessScopes }``)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from adapters.shopify.channel import missing_scopes
from daemon.cli import main
from daemon.cli.exitcodes import ExitCode
from sandboxes.shopify import create_app
from sandboxes.shopify.queries import DEFAULT_SCOPES
from tests.adapters.shopify.conftest import Shop
from tests.e2e.stack import ENV, merchant_file
from tests.e2e.stack import channel as e2e_channel


async def test_every_needed_scope_granted_means_nothing_missing(shop: Shop) -> None:
    channel = shop.channel()
    try:
        assert await channel.verify_access() == []
    finally:
        await channel.aclose()


def test_each_missing_scope_is_named_with_what_it_is_for() -> None:
    granted = set(DEFAULT_SCOPES) - {"write_inventory", "read_all_orders", "read_merchant_managed_fulfillment_orders",
                                     "write_merchant_managed_fulfillment_orders"}  # fmt: skip
    problems = missing_scopes(granted)
    assert any(p.startswith("missing scope write_inventory: needed to write stock levels") for p in problems)
    assert any(
        "read_merchant_managed_fulfillment_orders" in p and "no fulfillment orders" in p for p in problems
    )
    assert any(p.startswith("warning: missing scope read_all_orders") and "60 days" in p for p in problems)
    # A write scope includes its read scope.
    assert missing_scopes({*DEFAULT_SCOPES} - {"read_orders"}) == []


@pytest.fixture
def limited_shopify() -> Iterator[str]:
    """A Shopify sandbox in its own thread (``main`` runs its own event loop), missing two scopes."""
    loop = asyncio.new_event_loop()
    app = create_app(access_scopes=tuple(set(DEFAULT_SCOPES) - {"write_inventory", "read_all_orders"}))
    runner = web.AppRunner(app, access_log=None)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.run_until_complete(runner.cleanup())
        loop.close()


def test_check_names_missing_scopes_and_exits_78(
    tmp_path: Path,
    limited_shopify: str,
    monkeypatch: pytest.MonkeyPatch,
    restore_logging: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for key, value in {**ENV, "E2E_DSN": "postgresql://unused@127.0.0.1:1/x"}.items():
        monkeypatch.setenv(key, value)
    shops = [e2e_channel("shopify-main", "shopify", limited_shopify)]
    merchant_file(limited_shopify, shops, tmp_path / "state").write(tmp_path / "acme.toml")
    assert main(["check", "--config", str(tmp_path)]) == ExitCode.CONFIG
    out = capsys.readouterr().out
    assert "acme/shopify-main  access FAILED" in out
    assert "missing scope write_inventory" in out
    assert "warning: missing scope read_all_orders" in out


async def test_orders_are_not_read_without_a_fulfillment_order_scope() -> None:
    # Shopify answers such an app with no fulfillment orders, not an error: every order would look like
    # "nothing for FFN" and be skipped for good. The channel stops instead, naming the scope.
    from aiohttp.test_utils import TestServer

    from adapters.shopify import ShopifyChannel
    from daemon.errors import ChannelFatalError
    from daemon.secrets import Secret
    from sandboxes.shopify import SANDBOX_KEY, TEST_TOKEN

    blind = set(DEFAULT_SCOPES) - {
        "read_merchant_managed_fulfillment_orders",
        "write_merchant_managed_fulfillment_orders",
    }
    app = create_app(access_scopes=tuple(blind))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    channel = ShopifyChannel(
        str(server.make_url("")).rstrip("/"),
        access_token=Secret(TEST_TOKEN),
        location_id=app[SANDBOX_KEY].location_id,
    )
    try:
        with pytest.raises(ChannelFatalError, match="read_merchant_managed_fulfillment_orders"):
            await channel.get_order("gid://shopify/Order/1")
    finally:
        await channel.aclose()
        await server.close()
