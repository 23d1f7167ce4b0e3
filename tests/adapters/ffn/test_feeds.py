"""Feeds against the sandbox: time windows with '+' offsets, chunk paging, shipments, stock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.ffn import FfnClient
from adapters.ffn.read import _chunks
from daemon.clock import FakeClock
from daemon.http import HttpClient, PagingLoopError
from daemon.model import OutboundStatus, Window
from tests.adapters.ffn.conftest import Sandbox, SeedStock, outbound, product

T = TypeVar("T")


async def collect(items: AsyncIterator[T]) -> list[T]:
    return [item async for item in items]


def window_around(clock: FakeClock) -> Window:
    return Window(start=clock.now() - timedelta(hours=1), end=clock.now() + timedelta(seconds=1))


async def _orders(client: FfnClient, set_stock: SeedStock, clock: FakeClock, count: int) -> str:
    jfsku = await client.upsert_product(product("A-1"))
    await set_stock("A-1", 100)
    for n in range(count):
        clock.advance(1)
        await client.create_outbound(outbound(f"MERC02FEED{n:04d}XY", f"SHOP-{n}", [(jfsku, "A-1", 2)]))
    return jfsku


async def test_outbound_changes_follow_chunks_with_encoded_offsets(
    client: FfnClient, sandbox: Sandbox, set_stock: SeedStock, clock: FakeClock, log_lines: list[str]
) -> None:
    await _orders(client, set_stock, clock, 7)  # chunk size 3: pages 1..3

    changes = await collect(client.outbound_changes(window_around(clock)))

    assert [c.outbound_id for c in changes] == [f"MERC02FEED{n:04d}XY" for n in range(7)]
    assert all(c.status is OutboundStatus.PENDING for c in changes)
    feed = sandbox.requests("GET", "/outbounds/updates")
    assert [e.query.rsplit("page=", 1)[-1] if "page=" in e.query else "1" for e in feed] == ["1", "2", "3"]
    sent = [line for line in log_lines if "/outbounds/updates?" in line]
    assert sent and all("%2B00" in line and "+" not in line for line in sent)  # '+' never travels unencoded


async def test_partial_and_final_shipments_with_and_without_tracking(
    client: FfnClient, sandbox: Sandbox, set_stock: SeedStock, clock: FakeClock
) -> None:
    jfsku = await _orders(client, set_stock, clock, 1)
    oid = "MERC02FEED0000XY"
    clock.advance(1)
    await sandbox.control(
        "POST",
        f"outbounds/{oid}/ship",
        {
            "lines": [{"merchantSku": "A-1", "quantity": 1}],
            "packages": 2,
            "tracking": ["JJD001", "JJD002"],
        },
    )
    clock.advance(1)
    await sandbox.control(
        "POST",
        f"outbounds/{oid}/ship",
        {
            "packages": 1,
            "tracking": False,
            "shipping_method_id": "FULF0A0003",
        },
    )

    partial, final = await collect(client.shipping_notifications(window_around(clock)))

    assert partial.outbound_id == oid and partial.outbound_status == "PartiallyShipped"
    assert [(line.jfsku, line.quantity) for line in partial.lines] == [(jfsku, Decimal(1))]
    assert [(t.number, t.carrier) for t in partial.trackings] == [("JJD001", "DHL"), ("JJD002", "DHL")]
    assert partial.trackings[0].url == (
        "http://nolp.dhl.de/nextt-online-public/set_identcodes.do?lang=de&idc=JJD001"
    )
    assert final.outbound_status == "Shipped" and final.trackings == ()
    assert [(line.jfsku, line.quantity) for line in final.lines] == [(jfsku, Decimal(1))]
    assert len(sandbox.requests("GET", "/shippingmethods")) >= 1  # carriers resolved once, cached
    assert (await client.get_outbound(oid)).lines[0].quantity_open == 0  # type: ignore[union-attr]


async def test_carrier_for_unknown_method(client: FfnClient, sandbox: Sandbox) -> None:
    assert await client.carrier_for("FULF0A0002", "0123") == (
        "DPD",
        "https://tracking.dpd.de/status/de_DE/parcel/0123",
    )
    assert await client.carrier_for("FULF0A0003", "X") == ("Spedition Müller", None)
    assert await client.carrier_for("FULF0ZZZZZ", "X") == (None, None)


async def test_stock_changes_are_absolute_levels_of_the_configured_warehouse(
    client: FfnClient, sandbox: Sandbox, set_stock: SeedStock, clock: FakeClock
) -> None:
    jfsku = await client.upsert_product(product("A-1"))
    await set_stock("A-1", 10)
    await sandbox.control("PUT", "stock/A-1", {"level": 4, "warehouse_id": "FULF04XX-12345-0002"})
    clock.advance(1)
    await client.create_outbound(outbound("MERC02STOCK001XY", "SHOP-S1", [(jfsku, "A-1", 3)]))

    levels = await collect(client.stock_changes(window_around(clock)))

    assert [(s.available, s.reserved, s.version) for s in levels] == [
        (Decimal(10), Decimal(0), 1),
        (Decimal(7), Decimal(3), 2),
    ]
    assert {s.warehouse_id for s in levels} == {"FULF04XX-12345-0001"}
    assert levels[-1].merchant_sku == "A-1"


async def test_stock_complete_pages_and_zero_stock(
    client: FfnClient, sandbox: Sandbox, set_stock: SeedStock
) -> None:
    for n in range(5):
        await client.upsert_product(product(f"P-{n}"))
    await set_stock("P-1", 8)
    await sandbox.control("PUT", "stock/P-2", {"level": 9, "warehouse_id": "FULF04XX-12345-0002"})

    levels = {s.merchant_sku: s.available for s in await collect(client.stock_complete())}

    assert levels == {"P-0": 0, "P-1": 8, "P-2": 0, "P-3": 0, "P-4": 0}
    assert len(sandbox.requests("GET", "/stocks/complete")) == 2  # 5 products, chunks of 3


async def test_repeating_next_chunk_url_is_detected() -> None:
    async def stuck(request: web.Request) -> web.Response:
        url = str(request.url.with_query({"page": "2"}))
        return web.json_response(
            {"from": "x", "to": "y", "data": [], "moreDataAvailable": True, "nextChunkUrl": url}
        )

    app = web.Application()
    app.router.add_get("/api/v1/merchant/outbounds/updates", stuck)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    http = HttpClient("ffn", str(server.make_url("/api")))
    try:

        async def mapper(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return docs

        with pytest.raises(PagingLoopError):
            await collect(_chunks(http, "/v1/merchant/outbounds/updates", {"fromDate": "a"}, "data", mapper))
    finally:
        await http.aclose()
        await server.close()
