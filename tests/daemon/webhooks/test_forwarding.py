"""Several instances: a delivery that reached an instance not owning the merchant is handed to the owner
through Postgres NOTIFY and runs the owner's flow; forged hand-overs are refused; only the owner registers
the merchant's webhooks."""

from __future__ import annotations

import asyncio
import contextlib
from types import SimpleNamespace
from typing import Any

import asyncpg
import orjson
import pytest

from daemon.engine.nudges import Nudges
from daemon.jobrunner import JobSpec
from daemon.monitor.metrics import SyncMetrics
from daemon.store.wake import listen_for_wakes
from daemon.webhooks.forwarding import take_forwarded
from daemon.webhooks.registration import Registrar
from daemon.wiring.webhooks import hand_over_nudge
from tests.daemon.webhooks.fake import FakeWebhooks
from tests.daemon.webhooks.test_receiver import Harness
from tests.daemon.webhooks.test_registration import target


async def _nothing() -> None:
    return None


async def test_a_nudge_taken_on_a_standby_reaches_the_owner_and_runs_its_flow(
    pool: asyncpg.Pool, pg_dsn: str
) -> None:
    heard: list[str] = []
    listening = asyncio.create_task(listen_for_wakes(pg_dsn, lambda _m: None, heard.append))
    try:
        standby = SimpleNamespace(nudges=Nudges())
        contexts: Any = {"acme": standby}
        job = JobSpec("acme", "shop", "orders", 60.0, _nothing)
        async with asyncio.timeout(5):
            while not heard:  # the listener connects in the background: until then nobody hears it
                standby.nudges.request("shop", "orders", new_record=True)  # a delivery reached the standby
                await hand_over_nudge(pool, contexts, job)  # its run found the merchant owned elsewhere
                assert not standby.nudges.pending("shop", "orders")  # handed over, not left behind
                await asyncio.sleep(0.05)
    finally:
        listening.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listening
    assert orjson.loads(heard[0]) == {"merchant": "acme", "channel": "shop", "flow": "orders", "new": True}

    owner = Harness()
    job_name = await take_forwarded(heard[0], owner.receiver.endpoints, owner._trigger, _owns(True))
    assert job_name == "acme/shop/orders" and owner.triggered == ["acme/shop/orders"]
    assert owner.nudged == [("shop", "orders")]
    other_standby = Harness()
    assert (
        await take_forwarded(heard[0], other_standby.receiver.endpoints, other_standby._trigger, _owns(False))
        is None
    )
    assert other_standby.triggered == [] and other_standby.nudged == []


def _owns(answer: bool) -> Any:
    async def owns(_merchant: str) -> bool:
        return answer

    return owns


@pytest.mark.parametrize(
    "payload",
    [
        "acme",
        "[1]",
        '{"merchant": "acme", "channel": "nope", "flow": "orders"}',
        '{"merchant": "other", "channel": "shop", "flow": "orders"}',
        '{"merchant": "acme", "channel": "shop", "flow": "products"}',  # not a flow its webhooks nudge
        '{"merchant": "acme", "channel": "shop", "flow": 1}',
    ],
)
async def test_a_forged_or_stale_hand_over_triggers_nothing(payload: str) -> None:
    owner = Harness()
    assert await take_forwarded(payload, owner.receiver.endpoints, owner._trigger, None) is None
    assert owner.triggered == [] and owner.nudged == []


async def test_only_the_instance_owning_the_merchant_registers_its_webhooks(pool: asyncpg.Pool) -> None:
    owned = False

    async def owns(_merchant: str) -> bool:
        return owned

    support = FakeWebhooks()
    registrar = Registrar(pool, metrics=SyncMetrics(), retry_first_s=0.01)
    registrar.start([target(support)], owns=owns)
    try:
        await asyncio.sleep(0.1)
        assert support.calls == []  # a standby: the owner registers
        owned = True  # it took the merchant over
        async with asyncio.timeout(5):
            while not support.calls:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
    finally:
        await registrar.aclose()
    assert set(support.subscriptions) == {"orders/create", "orders/updated"}


async def test_a_standbys_run_hands_its_nudge_over_and_the_owners_run_its_cycle(pg_dsn: str) -> None:
    from daemon.wiring.build import _owned_only
    from daemon.wiring.ownership import Ownership
    from tests.daemon.store.test_lease import migrated

    await migrated(pg_dsn)
    ran: list[str] = []
    handed: list[str] = []

    async def cycle() -> None:
        ran.append("cycle")

    async def hand_over(job: JobSpec) -> None:
        handed.append(job.name)

    owner, standby = Ownership(pg_dsn, ["acme"]), Ownership(pg_dsn, ["acme"])
    try:
        job = JobSpec("acme", "shop", "orders", 60.0, cycle)
        await _owned_only(job, owner, hand_over).run()  # the first to ask takes the merchant
        await _owned_only(job, standby, hand_over).run()
    finally:
        await owner.aclose()
        await standby.aclose()
    assert ran == ["cycle"] and handed == ["acme/shop/orders"]
