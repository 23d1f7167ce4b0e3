"""`ffn-sync trace ORDER` answers "why has this order not gone out?" for a waiting, an exported and a
parked order, from the records the real engine keeps."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest

from daemon.cli import main
from tests.e2e.stack import Stack, stack
from tests.e2e.world import ADDRESS, outbounds, ref, seed_catalogue


async def cli(s: Stack, monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    for key, value in s.env.items():
        monkeypatch.setenv(key, value)
    return await asyncio.to_thread(main, [*args, "--config", str(s.config_path)])


def order_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "lines": [{"sku": "MUG", "qty": 2, "price": "12.50"}],
        "paid": True,
        "shipping_method": "Standard",
        "address": ADDRESS,
    }
    return body | overrides


async def test_trace_explains_a_waiting_an_exported_and_a_parked_order(
    tmp_path: Path,
    pg_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    restore_logging: None,
) -> None:
    async with stack(tmp_path, pg_dsn, ["shopware"], shipping_default=None) as s:
        shop = s.shops["shopware-main"]
        await seed_catalogue(s, shop)
        waiting = await s.control(shop, "POST", "orders", order_body(paid=False))
        exported = await s.control(shop, "POST", "orders", order_body())
        parked = await s.control(shop, "POST", "orders", order_body(shipping_method="Pigeon post"))
        await s.settle(2)
        outbound = next(
            o for o in await outbounds(s) if o["merchantOutboundNumber"].endswith(exported["number"])
        )
        await s.control(
            s.ffn, "POST", f"outbounds/{outbound['outboundId']}/ship", {"packages": 1, "tracking": ["TR-1"]}
        )
        await s.settle(2)
        capfd.readouterr()

        assert await cli(s, monkeypatch, "trace", str(waiting["number"])) == 0
        text = capfd.readouterr().out
        assert f"order {waiting['number']}" in text
        assert "now:      waiting: waiting for payment" in text
        assert "reserves: MUG×2" in text
        assert "gate" in text and "wait: waiting for payment" in text and "pulled" in text

        assert await cli(s, monkeypatch, "trace", str(exported["number"]), "--json") == 0
        [got] = orjson.loads(capfd.readouterr().out)
        assert got["outbound_id"] == outbound["outboundId"] and got["reserves"] == {}
        assert got["verdict"].startswith(f"in FFN as outbound {outbound['outboundId']}, status Shipped")
        kinds = [e["kind"] for e in got["events"]]
        assert kinds[:3] == ["pulled", "gate", "exported"] and "shipment" in kinds
        shipment = next(e for e in got["events"] if e["kind"] == "shipment")
        assert "TR-1" in shipment["detail"] and "applied in the shop" in shipment["detail"]

        assert await cli(s, monkeypatch, "trace", str(parked["id"])) == 0  # by shop id works too
        text = capfd.readouterr().out
        assert "now:      parked (unmapped_shipping_method)" in text and "'Pigeon post'" in text
        assert "ffn-sync retry" in text and "reserves: MUG×2" in text

        await s.control(shop, "POST", f"orders/{ref(waiting)}/cancel")
        await s.settle(1)
        assert await cli(s, monkeypatch, "trace", str(waiting["number"])) == 0
        text = capfd.readouterr().out
        assert "never: cancelled in the shop" in text and "reserves: nothing" in text

        assert await cli(s, monkeypatch, "trace", "NO-SUCH-ORDER") == 1
