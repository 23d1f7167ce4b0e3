"""With 20 % injected 503/429 and a few ms latency, every client operation still completes."""

from __future__ import annotations

from datetime import timedelta

from adapters.ffn import FfnClient
from daemon.clock import FakeClock
from daemon.model import Window
from tests.adapters.ffn.conftest import Sandbox, SeedStock, outbound, product


async def test_operations_complete_through_injected_faults(
    client: FfnClient, sandbox: Sandbox, set_stock: SeedStock, clock: FakeClock, log_lines: list[str]
) -> None:
    await client.setup.warehouses()  # tokens loaded before the storm (the token endpoint is not faulted)
    await sandbox.control("PUT", "faults", {"rate": 0.2, "statuses": [503, 429], "latency_ms": 3, "seed": 7})
    start = clock.now() - timedelta(minutes=1)

    jfskus = [await client.upsert_product(product(f"F-{n}")) for n in range(6)]
    for n, jfsku in enumerate(jfskus):
        await set_stock(f"F-{n}", 20)
        await client.create_outbound(outbound(f"MERC02FAULT{n:03d}XY", f"SHOP-F{n}", [(jfsku, f"F-{n}", 2)]))
    await client.update_outbound(outbound("MERC02FAULT000XY", "SHOP-F0", [(jfskus[0], "F-0", 3)]))
    await client.cancel_outbound("MERC02FAULT001XY", "customer request")
    await sandbox.control("POST", "outbounds/MERC02FAULT002XY/ship", {"packages": 1, "tracking": True})
    window = Window(start=start, end=clock.now() + timedelta(seconds=1))
    changes = [c async for c in client.outbound_changes(window)]
    shipments = [s async for s in client.shipping_notifications(window)]
    stock = [s async for s in client.stock_complete()]

    assert len(set(jfskus)) == 6
    assert len(sandbox.world.outbounds) == 6
    assert {c.outbound_id for c in changes} == {f"MERC02FAULT{n:03d}XY" for n in range(6)}
    assert [s.outbound_id for s in shipments] == ["MERC02FAULT002XY"]
    assert len(stock) == 6
    assert sandbox.world.outbounds["MERC02FAULT001XY"]["status"] == "Canceled"
    injected = [e for e in sandbox.kit.log.entries() if e.injected]
    assert {e.status for e in injected} == {503, 429}
    retries = [line for line in log_lines if "WARNING" in line and "retry" in line]
    assert len(retries) >= len(injected) - 1  # every injected fault was retried (one line each)
    assert any("POST" in line for line in retries)  # creates too, by the client's own create retry
