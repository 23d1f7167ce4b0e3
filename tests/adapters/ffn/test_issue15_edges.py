"""FFN's real edges (issue 15): literal ``$`` OData keys, the spec's field limits (client truncates,
sandbox refuses), refresh failures, bodiless 403/404, feed windows answered short, net/gross stock."""

from __future__ import annotations

import base64
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import orjson
import pytest

from adapters.ffn.auth import oauth_error_factory
from daemon.clock import FakeClock
from daemon.errors import AuthError, ChannelFatalError
from daemon.model import Window
from sandboxes.ffn.model_validation import NESTED, RULES
from tests.adapters.ffn.conftest import ClientFactory, Sandbox, SeedStock, outbound, product
from tests.adapters.ffn.spec import spec_dict


async def test_odata_query_keys_carry_a_literal_dollar(
    sandbox: Sandbox, make_client: ClientFactory, log_lines: list[str]
) -> None:
    client = make_client()
    await client.upsert_product(product("A-1"))
    sent = [line for line in log_lines if "GET /api/v1/merchant/products?" in line]
    assert sent and "products?$filter=merchantSku%20eq%20%27A-1%27&$top=2" in sent[0]
    assert "%24" not in sent[0]
    assert parse_qs(sandbox.requests("GET", "/v1/merchant/products")[0].query)["$top"] == ["2"]


async def test_a_long_customer_note_is_cut_to_the_spec_limit_not_parked(
    sandbox: Sandbox, make_client: ClientFactory, set_stock: SeedStock
) -> None:
    client = make_client()
    jfsku = await client.upsert_product(product("A-1"))
    await set_stock("A-1", 5)
    comment = "Bitte beim Nachbarn abgeben. " * 200  # 5800 characters
    created = await client.create_outbound(
        outbound(
            "MERC02NOTE0001", "SHOP-NOTE", [(jfsku, "A-1", 1)], external_note=comment, internal_note=comment
        )
    )
    doc = sandbox.world.outbounds[created]
    assert len(doc["externalNote"]) == 4096 and doc["externalNote"].endswith("…")
    assert len(doc["internalNote"]) == 4096


async def test_the_sandbox_refuses_what_the_spec_refuses_with_its_validation_body(
    sandbox: Sandbox, make_client: ClientFactory, set_stock: SeedStock
) -> None:
    client = make_client()
    jfsku = await client.upsert_product(product("A-1"))
    token = await client.auth.access_token()
    good: dict[str, Any] = {
        "merchantOutboundNumber": "SHOP-RAW",
        "warehouseId": "FULF04XX-12345-0001",
        "currency": "EUR",
        "shippingMethodId": "FULF0A0001",
        "shippingAddress": {"lastname": "Muster", "street": "Weg 1", "city": "Köln", "country": "DE"},
        "items": [{"outboundItemId": "1", "jfsku": jfsku, "quantity": 1}],
    }
    broken = {
        "externalNote": "x" * 4097,
        "currency": "euro",
        "merchantOutboundNumber": "SHOP\nRAW",
        "priority": 9,
        "shippingAddress": {**good["shippingAddress"], "country": "Germany"},
        "items": [{"outboundItemId": "1", "jfsku": "SHORT", "quantity": 1}],
        "desiredDeliveryDate": "tomorrow",
    }
    example = _spec_validation_example()
    # These requests break the spec on purpose; its own validation refuses them too.
    sandbox.allow.append(lambda e: e.status == 400)
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        for key, value in broken.items():
            async with http.post(f"{sandbox.api}/v1/merchant/outbounds", json={**good, key: value}) as answer:
                body = orjson.loads(await answer.read())
                assert answer.status == 400, key
                assert body["errorCode"] == example["errorCode"], key
                assert {k.lower() for k in body} == {k.lower() for k in example}, key
                assert body["errorMessages"][0]["message"].startswith("Model validation failed"), key
        # .NET counts UTF-16 units: 2,049 emoji are 4,098 units, over the 4,096 limit.
        emoji_note = {**good, "externalNote": "🎉" * 2049}
        async with http.post(f"{sandbox.api}/v1/merchant/outbounds", json=emoji_note) as answer:
            assert answer.status == 400
        async with http.patch(
            f"{sandbox.api}/v1/merchant/products/{jfsku}", json={"originCountry": "DEU"}
        ) as answer:
            assert answer.status == 400


def _spec_validation_example() -> dict[str, Any]:
    for operations in spec_dict()["paths"].values():
        for operation in operations.values():
            for response in (operation.get("responses") or {}).values():
                for content in (response.get("content") or {}).values():
                    example = (content.get("examples") or {}).get("Shared_ModelValidation")
                    if example:
                        value: dict[str, Any] = example["value"]
                        return value
    raise AssertionError("the spec shows no Shared_ModelValidation example")


def test_the_sandbox_rules_are_the_specs() -> None:
    schemas = spec_dict()["components"]["schemas"]
    keys = ("maxLength", "minLength", "pattern", "format", "maximum", "minimum")
    for name, rules in RULES.items():
        derived = {}
        for field, prop in schemas[name]["properties"].items():
            rule = {
                k: prop[k] for k in keys if prop.get(k) not in (None, "", "decimal", "int32", "int64", "int")
            }
            if rule and "$ref" not in prop and prop.get("type") != "array":
                derived[field] = rule
        assert rules == derived, name
    for name, nested in NESTED.items():
        for field, (child, many) in nested.items():
            prop = schemas[name]["properties"][field]
            ref = (
                (prop.get("items") or {}).get("$ref")
                if many
                else (prop.get("$ref") or prop["allOf"][0]["$ref"])
            )
            assert ref.endswith(f"/{child}"), (name, field)


async def test_a_refused_refresh_means_log_in_again_unless_the_client_is_wrong(
    sandbox: Sandbox, make_client: ClientFactory, clock: FakeClock
) -> None:
    for status, code in ((400, "invalid_grant"), (401, "invalid_request"), (400, "unauthorized_client")):
        error = oauth_error_factory("ffn", status, orjson.dumps({"error": code}), {})
        assert (
            isinstance(error, AuthError) and "ffn-login" in error.message and "client id" not in error.message
        )
    wrong_client = oauth_error_factory("ffn", 401, b'{"error":"invalid_client"}', {})
    assert "ffn.client_id" in wrong_client.message

    await sandbox.control("PUT", "knobs", {"refused_refresh": "invalid_request"})
    client = make_client()
    tokens = await client.auth._store.load()
    assert tokens is not None
    # Someone else spends the stored refresh token (a second daemon on the same account).
    basic = "Basic " + base64.b64encode(b"sandbox:sandbox-secret").decode()
    async with aiohttp.ClientSession() as http:
        form = {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token}
        async with http.post(sandbox.token_url, data=form, headers={"Authorization": basic}) as spent:
            assert spent.status == 200
    await sandbox.control("POST", "oauth/expire-access-tokens")
    clock.advance(3600)
    with pytest.raises(AuthError) as refused:
        await client.upsert_product(product("A-1"))
    assert "invalid_request" in refused.value.message and "ffn-login" in refused.value.message


@pytest.mark.parametrize(
    ("account", "status", "hint"), [("missing_scope", 403, "scopes"), ("not_in_portal", 404, "portal")]
)
async def test_a_bodiless_403_or_404_stops_the_channel_with_the_specs_hint(
    sandbox: Sandbox, make_client: ClientFactory, account: str, status: int, hint: str
) -> None:
    sandbox.allow.append(lambda e: e.status == status and not e.response_body)  # the account, not the spec
    await sandbox.control("PUT", "knobs", {"account": account})
    client = make_client()
    with pytest.raises(ChannelFatalError) as stopped:
        await client.upsert_product(product("A-1"))
    assert stopped.value.status == status and hint in stopped.value.message


async def test_a_window_answered_short_is_read_on_from_the_answers_to(
    sandbox: Sandbox, make_client: ClientFactory, set_stock: SeedStock, clock: FakeClock
) -> None:
    client = make_client()
    jfsku = await client.upsert_product(product("A-1"))
    await set_stock("A-1", 100)
    start = clock.now()
    for n in range(6):
        clock.advance(600)  # one outbound every ten minutes
        await client.create_outbound(outbound(f"MERC02WIN{n:05d}X", f"SHOP-W{n}", [(jfsku, "A-1", 1)]))
    await sandbox.control("PUT", "knobs", {"max_feed_window_s": 1200})  # FFN answers 20 minutes at a time
    window = Window(start, clock.now() + timedelta(seconds=1))
    seen = {s.merchant_outbound_number async for s in client.outbound_changes(window)}
    assert seen == {f"SHOP-W{n}" for n in range(6)}
    asked = [parse_qs(e.query)["fromDate"][0] for e in sandbox.requests("GET", "/outbounds/updates")]
    assert len(asked) >= 4 and asked == sorted(asked)


@pytest.mark.parametrize(
    ("reported", "read_as", "expected"), [("net", "net", 10), ("gross", "gross", 10), ("gross", "net", 15)]
)
async def test_the_ffn_stock_input_is_explicit(
    sandbox: Sandbox, make_client: ClientFactory, reported: str, read_as: str, expected: int
) -> None:
    await sandbox.control("PUT", "knobs", {"stock_level": reported})
    client = make_client(stock_input=read_as)
    await client.upsert_product(product("A-1"))
    answer = await sandbox.control("PUT", "stock/A-1", {"level": 10, "reserved": 3, "blocked": 2})
    assert (answer["reserved"], answer["blocked"]) == (3, 2)
    levels = [level async for level in client.stock_complete()]
    assert [(level.merchant_sku, level.available) for level in levels] == [("A-1", Decimal(expected))]
