"""Products against the sandbox: find by merchantSku, create, patch changed fields, authorize, adopt."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.ffn import FfnClient
from tests.adapters.ffn.conftest import Sandbox, product


async def test_create_then_unchanged_upsert_writes_nothing(client: FfnClient, sandbox: Sandbox) -> None:
    jfsku = await client.upsert_product(product("SKU-1"))

    assert len(jfsku) == 11 and jfsku.startswith("MERC01")
    created = sandbox.world.products[jfsku]
    assert created["merchantSku"] == "SKU-1"
    assert created["identifier"]["ean"] == "4006381333931"
    assert created["dimensions"] == {"length": 0.2, "width": 0.1, "height": 0.05}
    assert "FULF" in sandbox.world.authorizations[jfsku]

    writes_before = [e for e in sandbox.kit.log.entries() if e.is_write]
    assert await client.upsert_product(product("SKU-1")) == jfsku
    writes_after = [e for e in sandbox.kit.log.entries() if e.is_write]
    assert writes_after == writes_before


async def test_patch_sends_only_changed_fields(client: FfnClient, sandbox: Sandbox) -> None:
    jfsku = await client.upsert_product(product("SKU-2"))

    await client.upsert_product(product("SKU-2", name="Renamed", weight_kg=Decimal("0.30")))

    patches = sandbox.requests("PATCH", "/products/")
    assert len(patches) == 1
    assert patches[0].request_json() == {"name": "Renamed", "weight": 0.3}
    assert sandbox.world.products[jfsku]["name"] == "Renamed"


async def test_find_quotes_merchant_sku_per_odata(client: FfnClient, sandbox: Sandbox) -> None:
    jfsku = await client.upsert_product(product("O'Neil 5/7"))

    found = await client.products.find_by_sku("O'Neil 5/7")

    assert found is not None and found["jfsku"] == jfsku
    lookup = sandbox.requests("GET", "/v1/merchant/products")[-1]
    assert lookup.query.startswith("$filter=merchantSku eq 'O''Neil 5/7'")


async def test_duplicate_product_adopts_existing_jfsku(
    client: FfnClient, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    jfsku = await client.upsert_product(product("SKU-3"))

    async def lagging_index(merchant_sku: str) -> None:  # the list has not caught up yet
        return None

    monkeypatch.setattr(client.products, "find_by_sku", lagging_index)
    adopted = await client.upsert_product(product("SKU-3", name="New name"))

    assert adopted == jfsku
    codes = [
        e.response_json()["errorCode"]["code"]
        for e in sandbox.requests("POST", "/products")
        if e.status == 400
    ]
    assert "Products_DuplicateProduct" in codes
    assert sandbox.world.products[jfsku]["name"] == "New name"


async def test_already_authorized_is_fine(client: FfnClient, make_client: object, sandbox: Sandbox) -> None:
    jfsku = await client.upsert_product(product("SKU-4"))
    fresh = make_client()  # type: ignore[operator]  # a restarted daemon does not know it authorized

    assert await fresh.upsert_product(product("SKU-4")) == jfsku
    refused = [e for e in sandbox.requests("POST", "/authorizations") if e.status == 400]
    assert refused and refused[0].response_json()["errorCode"]["code"] == "Products_ProductAlreadyAuthorized"
