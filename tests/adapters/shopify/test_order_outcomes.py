"""The one way every shop reports an order (daemon/ports.py), here for Shopify against its sandbox:
mapped → ShopOrder; exists but unmappable → UnreadableOrder (pull and get_order alike); gone → None;
cannot be read now → a typed error, never None."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

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
