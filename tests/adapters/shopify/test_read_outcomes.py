"""The one way every shop reports what it reads (daemon/ports.py), here for Shopify against its sandbox:
an order that maps → ShopOrder; exists but cannot be mapped → UnreadableOrder (pull and get_order alike);
gone → None; cannot be read now → a typed error, never None. A product that cannot be mapped is left out
with one ERROR line in the shared wording, and the pull goes on."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from loguru import logger

import adapters.shopify.channel
import adapters.shopify.read
from adapters.shopify.mapping import MappingError
from daemon.errors import RetryableError
from daemon.model import Window
from daemon.ports import UnreadableOrder
from tests.adapters.shopify.conftest import START, Shop


async def test_an_unmappable_order_is_unreadable_in_the_pull_and_in_get_order(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    await shop.product("A1")
    good = await shop.order([{"sku": "A1", "qty": 1}])
    bad = await shop.order([{"sku": "A1", "qty": 2}])
    # The sandbox answers only schema-valid orders, so the payload the mapping cannot take (no currency,
    # which a schema change could bring) is made on the way in.
    real = adapters.shopify.read.map_order

    def map_order(node: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if node["id"] == bad["id"]:
            raise MappingError(f"order {node['id']}: currencyCode is missing")
        return real(node, *args, **kwargs)

    monkeypatch.setattr(adapters.shopify.read, "map_order", map_order)
    channel = shop.channel()
    try:
        pulled = [o async for o in channel.changed_orders(Window(START, START + timedelta(hours=1)))]
        got = await channel.get_order(bad["id"])
    finally:
        await channel.aclose()
    assert [o.order_id for o in pulled] == [good["id"], bad["id"]]
    unreadable = pulled[1]
    assert isinstance(unreadable, UnreadableOrder)
    assert unreadable.reason == f"cannot be read: order {bad['id']}: currencyCode is missing"
    assert unreadable.number == bad["number"] and unreadable.updated_at is not None
    assert [(line.sku, line.quantity) for line in unreadable.lines] == [("A1", 2)]  # stock stays reserved
    assert got == unreadable  # get_order reports it the same way (it used to answer None: "deleted")


async def test_a_missing_order_is_none_and_an_unavailable_shop_an_error(shop: Shop) -> None:
    channel = shop.channel()
    try:
        assert await channel.get_order("gid://shopify/Order/999") is None
        await shop.control("PUT", "/_sandbox/faults", {"rate": 1.0, "statuses": [503], "retry_after_s": 0})
        with pytest.raises(RetryableError):
            await channel.get_order("gid://shopify/Order/999")
    finally:
        await channel.aclose()


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
