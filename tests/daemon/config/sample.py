"""A small valid merchant file for tests, and the environment its secrets come from."""

from __future__ import annotations

from pathlib import Path

ENV = {
    "FFN_SECRET": "ffn-secret-value-7f3a",
    "SHOP_TOKEN": "shpat_token-value-91bc",
}


def merchant_toml(merchant_id: str = "acme", *, extra: str = "") -> str:
    return f"""
[merchant]
id = "{merchant_id}"
ffn_merchant_id = "MERC"
warehouse_id = "FULF04XX-12345-0001"
fulfiller_id = "FULF"
product_master = "shop"

[ffn]
base_url = "http://127.0.0.1:9001/api"
client_id = "client-1"
client_secret = "env:FFN_SECRET"

[[channels]]
name = "shop"
kind = "shopify"
base_url = "http://127.0.0.1:9002"
[channels.credentials]
access_token = "env:SHOP_TOKEN"
location_id = "gid://shopify/Location/1"
[channels.orders]
import_since = 2026-01-01T00:00:00Z
[channels.shipping]
default = "FULF0A0001"
[channels.shipping.map]
"Standard" = "FULF0A0001"
"Express Plus" = "FULF0A0002"
{extra}
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path
