"""Stock writes in the 2026 shape: changeFromQuantity compare-and-swap and @idempotent keys."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.shopify import ShopifyChannel
from adapters.shopify.state import MemoryState
from adapters.shopify.transport import Operation
from daemon.errors import ChannelFatalError, RetryableError
from daemon.model import ShopStock
from daemon.ports import ItemFailure
from tests.adapters.shopify.conftest import Shop


def _writes(shop: Shop) -> list[dict[str, Any]]:
    return [e.request_json() for e in shop.graphql_log() if "SetQuantities" in e.request_json()["query"]]


@pytest.mark.parametrize("version", ["2026-01", "2026-04", "2026-10"])
async def test_the_client_stock_write_is_accepted_at_each_supported_version(shop: Shop, version: str) -> None:
    await shop.product("A1", stock=3)
    channel = shop.channel(api_version=version)
    try:
        results = await channel.set_stock([ShopStock("A1", 8)])
    finally:
        await channel.aclose()
    assert [(r.ok, r.error) for r in results] == [(True, None)]
    assert await shop.control("GET", "/_sandbox/stock") == {"A1": 8}
    (write,) = _writes(shop)
    assert "@idempotent(key: $key)" in write["query"] and write["variables"]["key"]
    assert write["variables"]["input"]["quantities"][0]["changeFromQuantity"] == 3
    assert "ignoreCompareQuantity" not in write["variables"]["input"]


async def test_a_sale_since_the_last_look_is_refused_not_overwritten(shop: Shop) -> None:
    await shop.product("A1", stock=4)
    state = MemoryState()
    channel = shop.channel(state=state)
    try:
        assert (await channel.set_stock([ShopStock("A1", 10)]))[0].ok  # read 4 (never looked), write 10
        await shop.order([{"sku": "A1", "qty": 2}])  # a customer buys 2: Shopify has 8 available
        # FFN's level rose to 12; the engine has not read the new order yet.
        (conflict,) = await channel.set_stock([ShopStock("A1", 12)])
        assert await shop.control("GET", "/_sandbox/stock") == {"A1": 8}  # the sale stands
        assert not conflict.ok and conflict.reason is ItemFailure.TRANSIENT
        assert "CHANGE_FROM_QUANTITY_STALE" in (conflict.error or "") and "10 -> 8" in (conflict.error or "")
        # The engine re-reads the orders, counts the new one and writes 12 - 2 over what it now knows.
        assert (await channel.set_stock([ShopStock("A1", 10)]))[0].ok
    finally:
        await channel.aclose()
    assert await shop.control("GET", "/_sandbox/stock") == {"A1": 10}
    changes = [w["variables"]["input"]["quantities"][0]["changeFromQuantity"] for w in _writes(shop)]
    assert changes == [4, 10, 8]
    reads = [e for e in shop.graphql_log() if "InventoryLevels" in e.request_json()["query"]]
    assert len(reads) == 2  # the first look, and the re-read after the conflict; never before a write


async def test_the_key_is_stored_before_sending_and_reused_for_the_same_body(shop: Shop) -> None:
    await shop.product("A1", stock=3)
    state = MemoryState()
    channel = shop.channel(state=state)
    real_mutate = channel.transport.mutate
    sent: list[str] = []

    async def lose_the_first(op: Operation, variables: Any = None, **kw: Any) -> dict[str, Any]:
        sent.append(variables["key"])
        assert variables["key"] in state.keys.values()  # persisted before the request left
        if len(sent) == 1:
            raise RetryableError("connection reset before Shopify answered", upstream="shopify")
        return await real_mutate(op, variables, **kw)

    channel.transport.mutate = lose_the_first  # type: ignore[method-assign]
    try:
        with pytest.raises(RetryableError):
            await channel.set_stock([ShopStock("A1", 8)])
        assert await channel.set_stock([ShopStock("A1", 8)])  # same body: same key
        assert await channel.set_stock([ShopStock("A1", 5)])  # another body: a new key
    finally:
        await channel.aclose()
    assert sent[0] == sent[1] and sent[2] != sent[1]
    assert state.keys == {}  # settled once Shopify answered
    assert await shop.control("GET", "/_sandbox/stock") == {"A1": 5}


async def test_a_refused_document_is_fatal_for_the_channel_naming_operation_and_version(shop: Shop) -> None:
    channel: ShopifyChannel = shop.channel(api_version="2026-10")
    old_shape = Operation(
        "SetQuantities",
        """mutation SetQuantities($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) { userErrors { code field message } } }""",
        estimate=10,
    )
    item = (await shop.product("A1"))["inventory_item_id"]
    quantities = [{"inventoryItemId": item, "locationId": shop.sandbox.location_id, "quantity": 1}]
    try:
        with pytest.raises(ChannelFatalError) as unknown_field:
            await channel.transport.mutate(
                old_shape,
                {"input": {"name": "available", "reason": "correction", "quantities": quantities,
                           "ignoreCompareQuantity": True}},
            )  # fmt: skip
        with pytest.raises(ChannelFatalError) as no_directive:
            quantities[0]["changeFromQuantity"] = None  # type: ignore[assignment]
            await channel.transport.mutate(
                old_shape, {"input": {"name": "available", "reason": "correction", "quantities": quantities}}
            )
    finally:
        await channel.aclose()
    for caught in (unknown_field, no_directive):
        assert "SetQuantities" in str(caught.value) and "2026-10" in str(caught.value)
    assert "@idempotent" in str(no_directive.value)
