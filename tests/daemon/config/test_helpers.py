from __future__ import annotations

from pathlib import Path

import pytest

from daemon.config import AppConfig, ShopifyChannelConfig, load_config
from tests.daemon.config.sample import ENV, merchant_toml, write


def _load(tmp_path: Path, text: str, environ: dict[str, str] = ENV) -> AppConfig:
    return load_config(write(tmp_path, "a.toml", text), environ=environ)


def test_channel_lookup(tmp_path: Path) -> None:
    merchant = _load(tmp_path, merchant_toml()).merchant("acme")
    channel = merchant.channel("shop")
    assert isinstance(channel, ShopifyChannelConfig)
    assert channel.credentials.location_id == "gid://shopify/Location/1"
    assert merchant.product_master_channel is channel
    assert merchant.enabled_channels == (channel,)
    with pytest.raises(KeyError):
        merchant.channel("nope")


def test_shipping_method_for(tmp_path: Path) -> None:
    channel = _load(tmp_path, merchant_toml()).merchants[0].channel("shop")
    assert channel.shipping_method_for(["Express Plus", "Standard"]) == "FULF0A0002"
    assert channel.shipping_method_for(["Pickup", "Standard"]) == "FULF0A0001"
    assert channel.shipping_method_for([" express plus "]) == "FULF0A0002"
    assert channel.shipping_method_for(["Pickup"]) == "FULF0A0001"  # default
    no_default = merchant_toml().replace('default = "FULF0A0001"', "")
    channel = _load(tmp_path, no_default).merchants[0].channel("shop")
    assert channel.shipping_method_for(["Pickup"]) is None
    assert channel.shipping_method_for([]) is None


def test_bare_shopify_location_number_becomes_a_gid(tmp_path: Path) -> None:
    text = merchant_toml().replace('location_id = "gid://shopify/Location/1"', "location_id = 123456")
    channel = _load(tmp_path, text).merchants[0].channel("shop")
    assert isinstance(channel, ShopifyChannelConfig)
    assert channel.credentials.location_id == "gid://shopify/Location/123456"


def test_fingerprint_is_stable_and_follows_changes(tmp_path: Path) -> None:
    base = _load(tmp_path, merchant_toml())
    assert base.fingerprint() == _load(tmp_path, merchant_toml()).fingerprint()
    # reordering keys inside a table changes nothing
    reordered = merchant_toml().replace(
        'ffn_merchant_id = "MERC"\nwarehouse_id = "FULF04XX-12345-0001"',
        'warehouse_id = "FULF04XX-12345-0001"\nffn_merchant_id = "MERC"',
    )
    assert _load(tmp_path, reordered).fingerprint() == base.fingerprint()
    changed = merchant_toml().replace('"Standard" = "FULF0A0001"', '"Standard" = "FULF0A0003"')
    assert _load(tmp_path, changed).fingerprint() != base.fingerprint()
    rotated = _load(tmp_path, merchant_toml(), {**ENV, "SHOP_TOKEN": "shpat_rotated-0001"})
    assert rotated.fingerprint() != base.fingerprint()
    assert rotated.merchants[0].fingerprint() != base.merchants[0].fingerprint()
    assert (
        _load(tmp_path, merchant_toml(extra="[metrics]\nport = 1234\n")).fingerprint() != base.fingerprint()
    )
