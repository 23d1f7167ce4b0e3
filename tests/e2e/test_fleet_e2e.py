"""A fleet on one set of sandbox processes: three merchants × three shops, one ``ffn-sync run`` over the
directory of their files; every order reaches its own merchant's FFN account, and no other."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sandboxes.world.catalogue import new_catalogue, place_orders, wait_for_ffn_products
from sandboxes.world.fleet import Fleet, stage_fleet
from sandboxes.world.merchant import MerchantFile, Timing
from sandboxes.world.stage import Stage, StageOptions, staged

TEMPLATE = MerchantFile(
    timing=Timing(
        orders_s=1, products_s=1, stock_s=1, shipments_s=1, status_s=1, reconcile_s=300, lag_s=0, overlap_s=30
    ),
    oversale=True,
    import_since=datetime(2020, 1, 1, tzinfo=UTC),
    shutdown_grace_s=5,
    ffn_requests_per_second=200.0,
)
ORDERS_PER_SHOP = 2


async def _daemon(stage: Stage, fleet: Fleet, log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "daemon", "run", "--config", str(fleet.directory),
            stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out,
            env={**os.environ, **stage.env, **fleet.env},
        )  # fmt: skip


async def _outbounds_until(
    fleet: Fleet, expected: int, timeout_s: float
) -> dict[str, list[dict[str, object]]]:
    deadline = time.monotonic() + timeout_s
    while True:
        seen = {m.ffn_merchant_id: list(await m.ffn.get("outbounds")) for m in fleet.members}
        if all(len(v) >= expected for v in seen.values()) or time.monotonic() > deadline:
            return seen
        await asyncio.sleep(0.5)


@pytest.mark.timeout(240)
async def test_three_merchants_on_one_set_of_sandbox_processes(tmp_path: Path, pg_dsn: str) -> None:
    options = StageOptions(merchant=TEMPLATE, dsn=pg_dsn, work_dir=tmp_path, pool_max=4)
    async with staged(options) as stage:
        fleet = await stage_fleet(stage, 3)
        assert sorted(p.name for p in fleet.directory.iterdir()) == ["m0000.toml", "m0001.toml", "m0002.toml"]
        products = {}
        for member in fleet.members:
            products[member.merchant_id] = await new_catalogue(
                member.shops.values(), 3, prefix=member.merchant_id.upper()
            )
        log = tmp_path / "daemon.log"
        daemon = await _daemon(stage, fleet, log)
        try:
            for member in fleet.members:
                skus = [p.sku for p in products[member.merchant_id]]
                await wait_for_ffn_products(member.ffn, skus, timeout_s=60)
            placed = {
                member.ffn_merchant_id: [
                    order
                    for kind, shop in member.shops.items()
                    for order in await place_orders(shop, kind, products[member.merchant_id], ORDERS_PER_SHOP)
                ]
                for member in fleet.members
            }
            expected = ORDERS_PER_SHOP * len(stage.shops)
            seen = await _outbounds_until(fleet, expected, timeout_s=90)
        finally:
            daemon.send_signal(signal.SIGTERM)
            await asyncio.wait_for(daemon.wait(), 30)
        tail = log.read_text(errors="replace")[-3000:]

        for member in fleet.members:
            mine = seen[member.ffn_merchant_id]
            assert len(mine) == expected, (member.merchant_id, len(mine), tail)
            assert all(str(o["outboundId"]).startswith(f"{member.ffn_merchant_id}02") for o in mine)
            numbers = sorted(str(o["merchantOutboundNumber"]).split("-", 1)[1] for o in mine)
            assert numbers == sorted(o.number.lstrip("#") for o in placed[member.ffn_merchant_id])
            skus = {str(i["merchantSku"]) for o in mine for i in o["items"]}  # type: ignore[attr-defined]
            assert skus <= {p.sku for p in products[member.merchant_id]}, "another merchant's products"
        # The default FFN merchant and the default shops were never written by the fleet.
        assert await stage.ffn.get("outbounds") == []
        for control in stage.shops.values():
            assert await control.get("stock") == {}
