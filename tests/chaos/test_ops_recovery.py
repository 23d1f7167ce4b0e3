"""Recovery does not wait out old backoffs: a fresh `ffn-login` or a SIGHUP runs backing-off flows at once."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from daemon.errors import AuthError
from daemon.jobrunner import JobSpec
from daemon.runtime import EmptyRuntime
from daemon.sdnotify import Notifier
from daemon.store import create_pool
from tests.daemon.test_cli import SECRETS, merchant_toml


class RecordingRuntime(EmptyRuntime):
    def __init__(self, retries: list[str | None]) -> None:
        super().__init__()
        self.retries = retries

    async def retry_now(self, merchant: str | None = None, *, shops: bool = True) -> None:
        self.retries.append(merchant if shops else f"{merchant} (records only)")


class BrokenUntilFixed:
    """A flow whose credentials are rejected until ``fixed``; counts its runs and the runtime's retry_now."""

    def __init__(self) -> None:
        self.fixed = False
        self.runs = 0
        self.ok_runs = 0
        self.retries: list[str | None] = []

    async def __call__(self, config: Any, db: Any) -> EmptyRuntime:
        async def run() -> None:
            self.runs += 1
            if not self.fixed:
                raise AuthError("credentials rejected", upstream="ffn", status=401)
            self.ok_runs += 1

        runtime = RecordingRuntime(self.retries)
        runtime.jobs = [JobSpec(m.id, None, "shipments", 0.2, run) for m in config.merchants]
        return runtime


async def _until(predicate: Callable[[], bool], limit_s: float) -> bool:
    deadline = asyncio.get_running_loop().time() + limit_s
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


@asynccontextmanager
async def backing_off_daemon(tmp_path: Path, pg_dsn: str, flow: BrokenUntilFixed) -> AsyncIterator[Any]:
    """A daemon whose one flow failed into a long backoff (as after minutes of a revoked consent)."""
    from daemon.app import Daemon
    from daemon.config import load_config

    path = tmp_path / "acme.toml"
    path.write_text(merchant_toml(tmp_path / "state"))
    daemon = Daemon(path, load_config(path), factory=flow, notifier=Notifier({}))
    task = asyncio.create_task(daemon.run())
    try:
        assert await _until(lambda: "acme/-/shipments" in daemon.scheduler.runners, 30)
        runner = daemon.scheduler.runners["acme/-/shipments"]
        assert await _until(lambda: runner.backoff_until is not None, 10)
        # The backoff has grown to its cap meanwhile: the next regular attempt is 15 minutes away.
        await asyncio.sleep(0.3)
        runner.backoff_until = datetime.now(UTC) + timedelta(seconds=900)
        daemon.scheduler.reschedule(runner.spec.name, runner.backoff_until)
        await asyncio.sleep(0.5)
        yield daemon
    finally:
        daemon.request_stop()
        assert await asyncio.wait_for(task, 30) == 0


@pytest.mark.timeout(90)
async def test_a_successful_ffn_login_wakes_the_merchants_flows_at_once(
    tmp_path: Path, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from daemon.store.wake import announce_login

    for key, value in {**SECRETS, "FFN_SYNC_TEST_DSN": pg_dsn}.items():
        monkeypatch.setenv(key, value)
    flow = BrokenUntilFixed()
    async with backing_off_daemon(tmp_path, pg_dsn, flow):
        runs = flow.runs
        assert flow.runs == runs  # really backing off
        flow.fixed = True
        pool = await create_pool(pg_dsn, min_size=1, max_size=1)
        try:
            await announce_login(pool, "acme")  # what `ffn-sync ffn-login` does after storing the tokens
        finally:
            await pool.close()
        assert await _until(lambda: flow.ok_runs > 0, 5), "the flow still waits out its backoff"
        # Postponed records of that merchant too; a new FFN consent fixes nothing at its shops.
        assert flow.retries == ["acme (records only)"]


@pytest.mark.timeout(90)
async def test_sighup_wakes_backing_off_flows_at_once(
    tmp_path: Path, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in {**SECRETS, "FFN_SYNC_TEST_DSN": pg_dsn}.items():
        monkeypatch.setenv(key, value)
    flow = BrokenUntilFixed()
    async with backing_off_daemon(tmp_path, pg_dsn, flow) as daemon:
        flow.fixed = True  # e.g. the shop's permissions were fixed; the file did not change
        daemon.request_reload()
        assert await _until(lambda: flow.ok_runs > 0, 5), "SIGHUP left the flow in its backoff"
        assert flow.retries == [None]
        # A changed file: the rebuilt job set starts without the old backoff too.
        flow.fixed = False
        runner = daemon.scheduler.runners["acme/-/shipments"]
        assert await _until(lambda: runner.backoff_until is not None, 10)
        runner.backoff_until = datetime.now(UTC) + timedelta(seconds=900)
        daemon.scheduler.reschedule(runner.spec.name, runner.backoff_until)
        await asyncio.sleep(0.3)
        flow.fixed = True
        ok = flow.ok_runs
        edited = merchant_toml(tmp_path / "state").replace(
            'ffn_merchant_id = "MERC"', 'ffn_merchant_id = "MERX"'
        )
        daemon.config_path.write_text(edited)
        daemon.request_reload()
        assert await _until(lambda: flow.ok_runs > ok, 5), "the reloaded job kept the old backoff"
        assert flow.retries == [None, None]  # the new runtime's records too


@pytest.mark.timeout(120)
async def test_retry_now_lifts_a_shops_pause_and_its_postponed_shipment_is_written_next_cycle(
    tmp_path: Path, pg_dsn: str
) -> None:
    from tests.e2e.stack import stack
    from tests.e2e.world import new_order, outbounds, ref, seed_catalogue, shop_order

    async with stack(tmp_path, pg_dsn, ["shopify"]) as s:
        shop = s.shops["shopify-main"]
        await seed_catalogue(s, shop)
        order = await new_order(s, shop, random.Random(3))
        await s.settle(2)
        (outbound,) = await outbounds(s)
        # The shop failed three writes in a row a moment ago: its breaker is open for the next minute.
        guarded = s.runtime.contexts[0].channels["shopify-main"]
        for _ in range(guarded.breaker.policy.threshold):
            guarded.breaker.failed(RuntimeError("shop answered 503"), reported=True)
        assert guarded.breaker.is_open
        await s.control(s.ffn, "POST", f"outbounds/{outbound['outboundId']}/ship", {"packages": 1})
        await s.settle(2)
        assert (await shop_order(s, shop, ref(order)))["fulfillments"] == [], "the pause was not in force"
        postponed = await s.db.pool.fetchval(
            "SELECT count(*) FROM snapshot WHERE entity = 'shipment' AND state = 'pending' AND next_attempt_at > now()"
        )
        assert postponed == 1

        await s.runtime.retry_now()  # what SIGHUP and a new FFN consent do

        assert not guarded.breaker.is_open
        await s.settle(1)
        assert len((await shop_order(s, shop, ref(order)))["fulfillments"]) == 1
