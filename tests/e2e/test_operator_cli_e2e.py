"""The operator's commands against a live world: status, failed, retry, resync."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from daemon.cli import main
from tests.e2e.stack import Stack, stack
from tests.e2e.world import new_order, outbounds, ref, seed_catalogue


async def cli(s: Stack, monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    for key, value in s.env.items():
        monkeypatch.setenv(key, value)
    # `main` runs its own event loop; the sandboxes keep serving on this one meanwhile.
    return await asyncio.to_thread(main, [*args, "--config", str(s.config_path)])


async def test_status_failed_retry_and_resync(
    tmp_path: Path,
    pg_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    restore_logging: None,
) -> None:
    async with stack(tmp_path, pg_dsn, ["shopify"], shipping_default=None) as s:
        shop = s.shops["shopify-main"]
        await seed_catalogue(s, shop)
        good = await new_order(s, shop, random.Random(1), shipping_method="Standard")
        bad = await new_order(s, shop, random.Random(2), lines=[{"sku": None, "name": "Gift wrap", "qty": 1}])
        await s.settle(2)
        capfd.readouterr()

        assert await cli(s, monkeypatch, "status", "--json") == 0
        rows = orjson.loads(capfd.readouterr().out)
        orders_row = next(r for r in rows if r["flow"] == "orders")
        assert (orders_row["channel"], orders_row["failed"], orders_row["stalled"]) == (
            "shopify-main",
            1,
            False,
        )

        assert await cli(s, monkeypatch, "failed") == 0
        listing = capfd.readouterr().out
        assert str(bad["number"]) in listing and "missing_sku" in listing and "has no SKU" in listing

        # Nothing fixed yet: the retry puts it back, the next pass parks it again with the same reason.
        assert await cli(s, monkeypatch, "retry", str(bad["number"])) == 0
        assert "1 record(s) queued again" in capfd.readouterr().out
        await s.control(shop, "PATCH", f"orders/{ref(bad)}", {"lines": [{"sku": "MUG", "qty": 1}]})
        await s.settle(1)
        assert {o["merchantOutboundNumber"] for o in await outbounds(s)} == {
            f"SH-{good['number']}",
            f"SH-{bad['number']}",
        }
        assert await cli(s, monkeypatch, "retry", "--all") == 1  # nothing left to retry

        # Resync with no daemon running (the in-process engine gives up its lease): cursors move back
        # and the command re-reads the range itself, writing nothing new.
        await s.runtime.ownership.aclose()
        since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        await s.mark()
        assert await cli(s, monkeypatch, "resync", "--since", since, "--flow", "orders") == 0
        err = capfd.readouterr().err
        assert "moved 1 cursor(s) back" in err and "acme/shopify-main/orders [" in err and "100%" in err
        assert await s.writes_since_mark(s.ffn) == []
        reads = [r for r in await s.requests(shop, s.marks[shop.url]) if "orders(" in r["request_body"]]
        assert reads, "resync re-read the orders"
