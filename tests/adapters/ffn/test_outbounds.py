"""Outbounds against the sandbox: idempotent create, 423, get, patch, cancel, refusals."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import orjson
import pytest

from adapters.ffn import FfnClient
from daemon.clock import SystemClock
from daemon.errors import ManualActionNeeded, RecordError, RetryableError
from daemon.model import Address, OutboundStatus
from tests.adapters.ffn.conftest import ClientFactory, Sandbox, SeedStock, outbound, product

OID = "MERC02ABCDEFGH23"


async def _products(client: FfnClient, set_stock: SeedStock) -> tuple[str, str]:
    a = await client.upsert_product(product("A-1"))
    b = await client.upsert_product(product("B-2"))
    await set_stock("A-1", 10)
    await set_stock("B-2", 10)
    return a, b


async def test_create_get_and_reservation(client: FfnClient, sandbox: Sandbox, set_stock: SeedStock) -> None:
    a, b = await _products(client, set_stock)

    created = await client.create_outbound(outbound(OID, "SHOP-1001", [(a, "A-1", 2), (b, "B-2", 1)]))

    assert created == OID
    post = sandbox.requests("POST", "/outbounds")[-1]
    body = post.request_json()
    assert body["outboundId"] == OID and body["merchantOutboundNumber"] == "SHOP-1001"
    assert [(i["jfsku"], i["merchantSku"], i["quantity"]) for i in body["items"]] == [
        (a, "A-1", 2),
        (b, "B-2", 1),
    ]
    assert "oversale" not in post.query
    status = await client.get_outbound(OID)
    assert status is not None and status.status is OutboundStatus.PENDING
    assert [(line.jfsku, line.quantity, line.quantity_open) for line in status.lines] == [
        (a, Decimal(2), Decimal(2)),
        (b, Decimal(1), Decimal(1)),
    ]
    assert sandbox.world.slot(a, "FULF04XX-12345-0001").reserved == 2


async def test_repeated_create_adopts_existing(
    client: FfnClient, sandbox: Sandbox, set_stock: SeedStock
) -> None:
    a, _ = await _products(client, set_stock)
    order = outbound(OID, "SHOP-1002", [(a, "A-1", 1)])

    assert await client.create_outbound(order) == OID
    assert await client.create_outbound(order) == OID

    assert len(sandbox.world.outbounds) == 1
    refused = [e for e in sandbox.requests("POST", "/outbounds") if e.status == 400]
    assert refused[0].response_json()["errorCode"]["code"] == "Outbounds_NotCanceledOutboundExists"


async def test_oversale_flag_and_not_enough_stock(make_client: ClientFactory, sandbox: Sandbox) -> None:
    strict = make_client()
    a = await strict.upsert_product(product("A-1"))
    with pytest.raises(RecordError) as refused:
        await strict.create_outbound(outbound(OID, "SHOP-1004", [(a, "A-1", 5)]))
    assert refused.value.vendor_code == "Stocks_NotEnoughStock"

    lenient = make_client(oversale=True)
    assert await lenient.create_outbound(outbound(OID, "SHOP-1004", [(a, "A-1", 5)])) == OID
    assert sandbox.requests("POST", "/outbounds")[-1].query == "oversale=true"


async def test_creation_lock_423_is_retried(
    make_client: ClientFactory, sandbox: Sandbox, set_stock: SeedStock
) -> None:
    # Real time here: the lock is held by a concurrent create for 0.1 s while this one backs off.
    real = SystemClock()
    first = make_client(clock=real, backoff_base_s=0.05)
    second = make_client(clock=real, backoff_base_s=0.05)
    a, _ = await _products(first, set_stock)
    await sandbox.control("PUT", "knobs", {"creation_delay_s": 0.1})

    ids = await asyncio.gather(
        first.create_outbound(outbound("MERC02AAAAAAAAA2", "SHOP-2001", [(a, "A-1", 1)])),
        second.create_outbound(outbound("MERC02BBBBBBBBB2", "SHOP-2002", [(a, "A-1", 1)])),
    )

    assert sorted(ids) == ["MERC02AAAAAAAAA2", "MERC02BBBBBBBBB2"]
    locked = [e for e in sandbox.requests("POST", "/outbounds") if e.status == 423]
    assert locked and locked[0].response_json()["errorCode"]["code"] == "Outbounds_OutboundCreationIsLocked"


async def test_creates_of_one_client_are_serialized(
    client: FfnClient, sandbox: Sandbox, set_stock: SeedStock
) -> None:
    a, _ = await _products(client, set_stock)
    await sandbox.control("PUT", "knobs", {"creation_delay_s": 0.02})

    await asyncio.gather(
        *(
            client.create_outbound(outbound(f"MERC02SERIAL{n}XY", f"SHOP-30{n}", [(a, "A-1", 1)]))
            for n in range(3)
        )
    )

    assert not [e for e in sandbox.requests("POST", "/outbounds") if e.status == 423]


async def test_the_next_create_goes_out_before_the_previous_caller_carries_on(
    client: FfnClient, sandbox: Sandbox, set_stock: SeedStock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Creates are serialized; what a caller does with its answer (outcome, history, log line) must not
    # hold the next create back: it would add to every order's round trip.
    a, _ = await _products(client, set_stock)
    events: list[str] = []
    send = client.http.request

    async def recording_send(method: str, url: str, **kw: Any) -> Any:
        if method == "POST":
            body = kw["data"] if "data" in kw else orjson.dumps(kw["json"])
            events.append(f"sent {orjson.loads(body)['merchantOutboundNumber']}")
        return await send(method, url, **kw)

    monkeypatch.setattr(client.http, "request", recording_send)

    async def create(n: int) -> None:
        await client.create_outbound(outbound(f"MERC02PIPE{n}XYZ", f"SHOP-40{n}", [(a, "A-1", 1)]))
        events.append(f"done SHOP-40{n}")

    await asyncio.gather(*(create(n) for n in range(3)))

    assert events == [
        "sent SHOP-400",
        "sent SHOP-401",
        "done SHOP-400",
        "sent SHOP-402",
        "done SHOP-401",
        "done SHOP-402",
    ]


async def test_update_then_refused_once_locked(
    client: FfnClient, sandbox: Sandbox, set_stock: SeedStock
) -> None:
    a, b = await _products(client, set_stock)
    await client.create_outbound(outbound(OID, "SHOP-1005", [(a, "A-1", 1)]))

    await client.update_outbound(outbound(OID, "SHOP-1005", [(a, "A-1", 3), (b, "B-2", 1)]))
    doc = sandbox.world.outbounds[OID]
    assert [(i["jfsku"], i["quantity"]) for i in doc["items"]] == [(a, 3), (b, 1)]

    await sandbox.control("POST", f"outbounds/{OID}/status", {"status": "Locked"})
    with pytest.raises(ManualActionNeeded) as refused:
        await client.update_outbound(outbound(OID, "SHOP-1005", [(a, "A-1", 1)]))
    assert refused.value.vendor_code == "Outbounds_OutboundUpdateForbidden"


async def test_cancel_and_cancel_refused_after_locked(
    client: FfnClient, sandbox: Sandbox, set_stock: SeedStock
) -> None:
    a, _ = await _products(client, set_stock)
    await client.create_outbound(outbound(OID, "SHOP-1006", [(a, "A-1", 2)]))

    await client.cancel_outbound(OID, "customer changed their mind")
    await client.cancel_outbound(OID, "repeated after a lost answer")

    put = sandbox.requests("PUT", "/status")[0]
    assert put.request_json() == {"status": "Canceled", "cancelReason": "customer changed their mind"}
    assert sandbox.world.outbounds[OID]["status"] == "Canceled"
    assert sandbox.world.slot(a, "FULF04XX-12345-0001").reserved == 0

    other = "MERC02LOCKED0002"
    await client.create_outbound(outbound(other, "SHOP-1007", [(a, "A-1", 1)]))
    await sandbox.control("POST", f"outbounds/{other}/status", {"status": "Locked"})
    with pytest.raises(ManualActionNeeded) as refused:
        await client.cancel_outbound(other, "too late")
    assert refused.value.vendor_code == "Outbounds_OutboundStatusChangeForbidden"
    assert refused.value.details == {"From": "Locked", "To": "Canceled"}


async def test_address_without_company_or_lastname_is_a_record_error(
    client: FfnClient, sandbox: Sandbox
) -> None:
    nameless = Address(first_name="Cher", street="Main St 1", zip="10115", city="Berlin", country_code="DE")

    with pytest.raises(RecordError, match=r"SHOP-1008.*company or a last name"):
        await client.create_outbound(
            outbound(OID, "SHOP-1008", [("MERC01AAAAA", "A-1", 1)], shipping_address=nameless)
        )
    assert not sandbox.requests("POST", "/outbounds")


async def test_lost_answer_on_create_is_retried_with_the_same_id_and_adopted(
    client: FfnClient, sandbox: Sandbox, set_stock: SeedStock, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _ = await _products(client, set_stock)
    real_request = client.http.request
    lost: list[str] = []

    async def answer_lost_once(method: str, url: str, **kw: object) -> object:
        response = await real_request(method, url, **kw)  # type: ignore[arg-type]
        if method == "POST" and url.endswith("/outbounds") and not lost:
            lost.append(url)
            raise RetryableError("no answer within 30s: POST /outbounds", upstream="ffn")
        return response

    monkeypatch.setattr(client.http, "request", answer_lost_once)

    assert await client.create_outbound(outbound(OID, "SHOP-1009", [(a, "A-1", 1)])) == OID
    posts = sandbox.requests("POST", "/outbounds")
    assert [p.request_json()["outboundId"] for p in posts] == [OID, OID]
    assert len(sandbox.world.outbounds) == 1
