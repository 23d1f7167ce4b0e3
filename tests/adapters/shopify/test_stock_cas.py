"""Stock writes in the 2026 shape: changeFromQuantity compare-and-swap and @idempotent keys."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.shopify import ShopifyChannel, queries
from adapters.shopify.state import MemoryState
from adapters.shopify.transport import Operation
from daemon.errors import ChannelFatalError, RetryableError
from daemon.model import ShopStock
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


async def test_a_checkout_between_read_and_write_is_not_overwritten(shop: Shop) -> None:
    await shop.product("A1", stock=10)
    channel = shop.channel()
    real_query = channel.transport.query
    checkouts = 0

    async def checkout_after_the_read(op: Operation, *args: Any, **kw: Any) -> dict[str, Any]:
        nonlocal checkouts
        result = await real_query(op, *args, **kw)
        if op is queries.INVENTORY_LEVELS and checkouts == 0:
            checkouts += 1  # a customer buys 2 right after our read
            await shop.order([{"sku": "A1", "qty": 2}])
        return result

    channel.transport.query = checkout_after_the_read  # type: ignore[method-assign]
    try:
        # FFN's level went from 10 to 12; the engine does not know the new order yet.
        results = await channel.set_stock([ShopStock("A1", 12)])
    finally:
        await channel.aclose()
    assert results[0].ok
    # The 2 units sold stay sold: 12 - 2, not the 12 an absolute write would leave (overselling 2).
    assert await shop.control("GET", "/_sandbox/stock") == {"A1": 10}
    first, second = _writes(shop)
    assert first["variables"]["input"]["quantities"][0]["changeFromQuantity"] == 10
    assert second["variables"]["input"]["quantities"][0] | {"inventoryItemId": None} == {
        "inventoryItemId": None,
        "locationId": shop.sandbox.location_id,
        "quantity": 10,
        "changeFromQuantity": 8,
    }
    assert first["variables"]["key"] != second["variables"]["key"]  # a recomputed body, a new key


async def test_a_quantity_that_keeps_moving_fails_the_item_for_the_next_cycle(shop: Shop) -> None:
    await shop.product("A1", stock=10)
    await shop.product("B1", stock=4)
    channel = shop.channel()
    real_query = channel.transport.query

    async def checkout_after_every_read(op: Operation, *args: Any, **kw: Any) -> dict[str, Any]:
        result = await real_query(op, *args, **kw)
        if op is queries.INVENTORY_LEVELS:
            await shop.order([{"sku": "A1", "qty": 1}])
        return result

    channel.transport.query = checkout_after_every_read  # type: ignore[method-assign]
    try:
        results = {r.key: r for r in await channel.set_stock([ShopStock("A1", 12), ShopStock("B1", 6)])}
    finally:
        await channel.aclose()
    assert results["B1"].ok
    assert not results["A1"].ok and "CHANGE_FROM_QUANTITY_STALE" in (results["A1"].error or "")
    assert await shop.control("GET", "/_sandbox/stock") == {"A1": 8, "B1": 6}  # the sales stand


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
