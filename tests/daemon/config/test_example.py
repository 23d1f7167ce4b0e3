"""config.example.toml is the reference: it must load, refuse its placeholders, and mention every key."""

from __future__ import annotations

import re
import types
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import pytest
from pydantic import BaseModel

from daemon.config import ConfigErrors, ShopifyChannelConfig, load_config
from daemon.config.channels import ShopwareChannelConfig, WooCommerceChannelConfig
from daemon.config.merchant import MerchantFile

EXAMPLE = Path(__file__).resolve().parents[3] / "config.example.toml"
PLACEHOLDER_ENV = {
    "FFN_CLIENT_ID": "ffn-client-id",
    "FFN_CLIENT_SECRET": "ffn-client-secret-value",
    "SHOPIFY_ACCESS_TOKEN": "shpat_example-token",
}


def test_example_loads_with_its_env_vars() -> None:
    config = load_config(EXAMPLE, environ=PLACEHOLDER_ENV)
    (merchant,) = config.merchants
    channel = merchant.channel("shopify-main")
    assert isinstance(channel, ShopifyChannelConfig)
    assert channel.credentials.access_token.reveal() == "shpat_example-token"
    assert merchant.product_master == "shopify-main"


def test_example_is_refused_without_them() -> None:
    with pytest.raises(ConfigErrors) as caught:
        load_config(EXAMPLE, environ={})
    text = str(caught.value)
    assert len(caught.value.problems) == len(PLACEHOLDER_ENV)
    for name in PLACEHOLDER_ENV:
        assert f"environment variable {name} is not set" in text


def test_example_is_refused_with_placeholder_values() -> None:
    with pytest.raises(ConfigErrors) as caught:
        load_config(EXAMPLE, environ={**PLACEHOLDER_ENV, "FFN_CLIENT_SECRET": "CHANGE-ME"})
    assert [p.key for p in caught.value.problems] == ["ffn.client_secret"]


def _models(annotation: Any) -> list[type[BaseModel]]:
    origin = get_origin(annotation)
    if origin in (Annotated, Union, types.UnionType, tuple, list, dict):
        return [model for arg in get_args(annotation) for model in _models(arg)]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return []


def _all_fields() -> set[str]:
    seen: set[type[BaseModel]] = set()
    names: set[str] = set()
    pending: list[type[BaseModel]] = [MerchantFile, ShopwareChannelConfig, WooCommerceChannelConfig]
    while pending:
        model = pending.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, field in model.model_fields.items():
            names.add(name)
            pending.extend(_models(field.annotation))
    return names


def test_example_documents_every_key() -> None:
    text = EXAMPLE.read_text()
    fields = _all_fields()
    assert {"access_token", "consumer_secret", "client_secret", "import_since", "notify_customer"} <= fields
    for name in sorted(fields):
        as_key = re.search(rf"^#?\s*{name}\s*=.*#", text, re.MULTILINE)
        as_table = re.search(rf"^#?\s*\[\[?([a-z.]+\.)?{name}\]\]?", text, re.MULTILINE)
        assert as_key or as_table, f"config.example.toml does not document {name!r}"
