"""The sandbox on its own: auth, OData, stock reservations, control API, autopilot."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from adapters.ffn import FfnClient
from adapters.ffn.mapping import create_outbound_body
from daemon.clock import FakeClock
from sandboxes.ffn.autopilot import Autopilot
from sandboxes.ffn.outbound_logic import create_outbound, set_status
from sandboxes.ffn.respond import FfnError
from tests.adapters.ffn.conftest import Sandbox, SeedStock, outbound, product


async def _get(sandbox: Sandbox, client: FfnClient, path: str) -> tuple[int, Any]:
    token = await client.auth.access_token()
    async with sandbox.session.get(f"{sandbox.api}{path}", headers={"Authorization": f"Bearer {token}"}) as r:
        body = await r.read()
        return r.status, orjson.loads(body) if body else None


async def test_api_needs_a_bearer_token(sandbox: Sandbox) -> None:
    async with sandbox.session.get(f"{sandbox.api}/v1/merchant/warehouses") as response:
        assert response.status == 401 and await response.read() == b""


async def test_top_skip_and_filter(client: FfnClient, sandbox: Sandbox) -> None:
    for n in range(5):
        await client.upsert_product(product(f"L-{n}"))

    status, page = await _get(sandbox, client, "/v1/merchant/products?$top=2&$skip=2")
    assert status == 200 and [p["merchantSku"] for p in page["items"]] == ["L-2", "L-3"]
    assert page["_page"] == {"total": 5, "limit": 2, "offset": 2} and page["count"] == 2
    assert "$skip=4" in page["nextPageLink"]
    status, found = await _get(
        sandbox, client, "/v1/merchant/shippingmethods?$filter=carrierName%20eq%20'DPD'"
    )
    assert [m["shippingMethodId"] for m in found["items"]] == ["FULF0A0002"]


async def test_unencoded_plus_in_dates_is_refused(client: FfnClient, sandbox: Sandbox) -> None:
    # Deliberately outside the spec: the sandbox answers 400 so the client bug cannot go unnoticed.
    sandbox.allow.append(lambda e: e.path.endswith("/outbounds/updates") and e.status == 400)
    status, body = await _get(
        sandbox, client, "/v1/merchant/outbounds/updates?fromDate=2026-01-01T00:00:00+00:00"
    )
    assert status == 400 and "percent-encoded" in body["errorMessages"][0]["message"]


async def test_reservation_shipping_and_cancel_move_stock(
    client: FfnClient, sandbox: Sandbox, set_stock: SeedStock
) -> None:
    jfsku = await client.upsert_product(product("R-1"))
    await set_stock("R-1", 10)
    await client.create_outbound(outbound("MERC02RES0001XYZ", "SHOP-R1", [(jfsku, "R-1", 4)]))
    await client.create_outbound(outbound("MERC02RES0002XYZ", "SHOP-R2", [(jfsku, "R-1", 3)]))
    slot = sandbox.world.slot(jfsku, "FULF04XX-12345-0001")
    assert (slot.level, slot.reserved) == (3, 7)

    await sandbox.control(
        "POST", "outbounds/MERC02RES0001XYZ/ship", {"lines": [{"jfsku": jfsku, "quantity": 1}]}
    )
    assert (slot.level, slot.reserved) == (3, 6)
    await sandbox.control(
        "POST", "outbounds/MERC02RES0002XYZ/status", {"status": "Canceled", "reason": "OOS"}
    )
    assert (slot.level, slot.reserved) == (6, 3)
    listed = await sandbox.control("GET", "outbounds")
    assert {o["outboundId"]: o["status"] for o in listed} == {
        "MERC02RES0001XYZ": "PartiallyShipped",
        "MERC02RES0002XYZ": "Canceled",
    }
    status = await client.get_outbound("MERC02RES0002XYZ")
    assert status is not None and status.cancel_reason == "OOS"


async def test_autopilot_ships_partially_then_fully(
    client: FfnClient, sandbox: Sandbox, set_stock: SeedStock, clock: FakeClock
) -> None:
    jfsku = await client.upsert_product(product("AP-1"))
    await set_stock("AP-1", 10)
    await client.create_outbound(outbound("MERC02AUTO001XYZ", "SHOP-A1", [(jfsku, "AP-1", 4)]))
    pilot = Autopilot()
    pilot.configure({"ship_after_s": 60, "partial_ratio": 1.0})

    assert pilot.tick(sandbox.world) == 0
    clock.advance(61)
    assert pilot.tick(sandbox.world) == 1
    assert sandbox.world.outbounds["MERC02AUTO001XYZ"]["status"] == "PartiallyShipped"
    clock.advance(61)
    assert pilot.tick(sandbox.world) == 1
    assert sandbox.world.outbounds["MERC02AUTO001XYZ"]["status"] == "Shipped"
    assert [n["items"][0]["quantity"] for n in sandbox.world.notifications] == [2, 2]
    assert await sandbox.control("PUT", "autopilot", {"ship_after_s": 5, "partial_ratio": 0.3}) == {
        "ship_after_s": 5,
        "partial_ratio": 0.3,
    }


async def test_metadata_spelling_knob_and_reset(client: FfnClient, sandbox: Sandbox) -> None:
    # The examples' spelling violates the ErrorResponse schema (errorMetaData required): allowed here.
    sandbox.allow.append(lambda e: e.status == 400 and b"errorMetadata" in e.response_body)
    await sandbox.control("PUT", "knobs", {"error_metadata_key": "errorMetadata"})
    jfsku = await client.upsert_product(product("K-1"))
    sandbox.world.authorizations.clear()
    client.products._authorized.clear()

    await client.products.authorize(jfsku)
    client.products._authorized.clear()
    await client.products.authorize(jfsku)  # ProductAlreadyAuthorized, parsed from errorMetadata
    refused = [e for e in sandbox.requests("POST", "/authorizations") if e.status == 400]
    assert refused and refused[-1].response_json()["errorMetadata"] == {"FulfillerId": "FULF", "Jfsku": jfsku}

    await sandbox.control("POST", "reset")
    assert sandbox.world.products == {} and len(sandbox.world.warehouses) == 2


async def test_an_active_outbound_blocks_its_id_and_its_number_a_cancelled_one_only_its_id(
    client: FfnClient, sandbox: Sandbox, set_stock: SeedStock
) -> None:
    # The rules the by-number index must keep (each create used to scan every outbound: O(n) per create).
    jfsku = await client.upsert_product(product("D-1"))
    await set_stock("D-1", 10)
    world = sandbox.world

    def create(outbound_id: str, number: str) -> dict[str, Any]:
        body = create_outbound_body(outbound(outbound_id, number, [(jfsku, "D-1", 1)]))
        return create_outbound(world, body, oversale=False)

    first = create("MERC02DUP0001XYZ", "SHOP-D1")
    create("MERC02DUP0002XYZ", "SHOP-D2")
    for outbound_id, number in (("MERC02DUP0003XYZ", "SHOP-D1"), ("MERC02DUP0001XYZ", "SHOP-D9")):
        with pytest.raises(FfnError) as refused:
            create(outbound_id, number)
        assert refused.value.code == "Outbounds_NotCanceledOutboundExists"
        assert refused.value.metadata == {"OutboundId": "MERC02DUP0001XYZ"}

    set_status(world, first, "Canceled", None, by_merchant=True)
    again = create("MERC02DUP0004XYZ", "SHOP-D1")  # a cancelled outbound's number may be used again
    with pytest.raises(FfnError) as reused:
        create("MERC02DUP0001XYZ", "SHOP-D5")  # its id may not
    assert reused.value.code == "Shared_DuplicateKey"
    assert world.find_outbound("SHOP-D1") is again  # by number: the active one
    set_status(world, again, "Canceled", None, by_merchant=True)
    assert world.find_outbound("SHOP-D1") is again  # all cancelled: the newest
