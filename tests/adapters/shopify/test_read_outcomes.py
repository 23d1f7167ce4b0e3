"""A product Shopify cannot map is left out with one ERROR line in the shared wording (daemon/ports.py), and
the pull goes on. How every shop reports an order it cannot map, a gone order and a shop it cannot read
now is tested once for all shops in tests/contracts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from loguru import logger

import adapters.shopify.channel
import adapters.shopify.read
from adapters.shopify.mapping import MappingError
from daemon.model import Window
from tests.adapters.shopify.conftest import START, Shop


async def test_an_unmappable_variant_is_left_out_with_its_reason_and_the_pull_goes_on(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    for sku in ("A1", "B1", "C1"):
        await shop.product(sku)
    real = adapters.shopify.channel.map_variant

    def map_variant(node: dict[str, Any], currency: str | None) -> Any:
        if node.get("sku") == "B1":
            raise MappingError(f"variant {node['id']} price is not a number: 'n/a'")
        return real(node, currency)

    monkeypatch.setattr(adapters.shopify.channel, "map_variant", map_variant)
    channel = shop.channel()
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="ERROR")
    try:
        pulled = [p.sku async for p in channel.changed_products(Window(START, START + timedelta(hours=1)))]
    finally:
        logger.remove(sink)
        await channel.aclose()

    assert pulled == ["A1", "C1"]  # it used to stop the whole pull at B1
    assert len(lines) == 1 and "shopify variant" in lines[0]
    assert "sku='B1' left out: cannot be read: variant" in lines[0]
