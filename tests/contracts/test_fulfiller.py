"""The Fulfiller contract (daemon/ports.py), for the FFN adapter against sandboxes/ffn (all its traffic
validated against the FFN OpenAPI) and for the engine's fake. A new fulfiller adapter gets all of it by
adding its driver to tests/contracts/drivers/fulfillers.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import TypeVar

import pytest

from daemon.errors import AuthError, ManualActionNeeded, RetryableError, SyncError
from daemon.model import OutboundStatus, Window
from daemon.ports import Fulfiller
from sandboxes.ffn.oauth import CLIENT_SECRET
from tests.adapters.ffn.conftest import outbound, product
from tests.contracts.drivers.fulfillers import FULFILLER_DRIVERS, FfnDriver, FulfillerDriver

T = TypeVar("T")
OID = "MERC02CONTRACT01"


@pytest.fixture(params=list(FULFILLER_DRIVERS))
async def ffn(request: pytest.FixtureRequest) -> AsyncIterator[FulfillerDriver]:
    driver = FULFILLER_DRIVERS[request.param]()
    await driver.start()
    try:
        yield driver
    finally:
        await driver.close()


async def collect(items: AsyncIterator[T]) -> list[T]:
    return [item async for item in items]


async def stocked(ffn: FulfillerDriver, fulfiller: Fulfiller, *skus: str) -> dict[str, str]:
    jfskus = {}
    for sku in skus:
        jfskus[sku] = await fulfiller.upsert_product(product(sku))
        await ffn.set_stock(sku, 50)
    return jfskus


def since(ffn: FulfillerDriver, start_s: int = 3600) -> Window:
    now = ffn.clock.now()
    return Window(now - timedelta(seconds=start_s), now + timedelta(seconds=1))


async def test_the_adapter_is_a_fulfiller(ffn: FulfillerDriver) -> None:
    assert isinstance(ffn.fulfiller(), Fulfiller)


async def test_upsert_product_keeps_one_jfsku_per_merchant_sku(ffn: FulfillerDriver) -> None:
    fulfiller = ffn.fulfiller()
    first = await fulfiller.upsert_product(product("A-1"))
    again = await fulfiller.upsert_product(product("A-1"))
    renamed = await fulfiller.upsert_product(product("A-1", name="Anvil, heavy"))
    other = await fulfiller.upsert_product(product("B-2"))
    assert first and first == again == renamed and other != first


async def test_create_outbound_is_idempotent_by_outbound_id(ffn: FulfillerDriver) -> None:
    fulfiller = ffn.fulfiller()
    j = await stocked(ffn, fulfiller, "A-1", "B-2")
    order = outbound(OID, "SHOP-1001", [(j["A-1"], "A-1", 2), (j["B-2"], "B-2", 1)])

    assert await fulfiller.create_outbound(order) == OID
    assert await fulfiller.create_outbound(order) == OID  # e.g. after a lost answer

    assert ffn.outbound_count() == 1
    status = await fulfiller.get_outbound(OID)
    assert status is not None and status.status is OutboundStatus.PENDING
    assert status.merchant_outbound_number == "SHOP-1001"
    assert [(line.jfsku, line.quantity) for line in status.lines] == [(j["A-1"], 2), (j["B-2"], 1)]


async def test_an_order_sent_before_under_another_id_is_adopted(ffn: FulfillerDriver) -> None:
    fulfiller = ffn.fulfiller()
    j = await stocked(ffn, fulfiller, "A-1")
    await fulfiller.create_outbound(outbound(OID, "SHOP-1002", [(j["A-1"], "A-1", 1)]))

    adopted = await fulfiller.create_outbound(
        outbound("MERC02OTHERID234", "SHOP-1002", [(j["A-1"], "A-1", 1)])
    )

    assert adopted == OID and ffn.outbound_count() == 1


async def test_an_unknown_outbound_is_none(ffn: FulfillerDriver) -> None:
    assert await ffn.fulfiller().get_outbound("MERC02NOPE000000") is None


async def test_update_changes_the_items_until_the_fulfiller_works_on_it(ffn: FulfillerDriver) -> None:
    fulfiller = ffn.fulfiller()
    j = await stocked(ffn, fulfiller, "A-1", "B-2")
    await fulfiller.create_outbound(outbound(OID, "SHOP-1003", [(j["A-1"], "A-1", 1)]))

    await fulfiller.update_outbound(outbound(OID, "SHOP-1003", [(j["A-1"], "A-1", 3), (j["B-2"], "B-2", 1)]))
    assert await ffn.held(OID) == [("A-1", Decimal(3)), ("B-2", Decimal(1))]

    await ffn.start_work(OID)
    with pytest.raises(ManualActionNeeded):
        await fulfiller.update_outbound(outbound(OID, "SHOP-1003", [(j["A-1"], "A-1", 1)]))
    assert await ffn.held(OID) == [("A-1", Decimal(3)), ("B-2", Decimal(1))]


async def test_cancel_until_the_fulfiller_works_on_it(ffn: FulfillerDriver) -> None:
    fulfiller = ffn.fulfiller()
    j = await stocked(ffn, fulfiller, "A-1")
    await fulfiller.create_outbound(outbound(OID, "SHOP-1004", [(j["A-1"], "A-1", 2)]))

    await fulfiller.cancel_outbound(OID, "customer changed their mind")
    await fulfiller.cancel_outbound(OID, "repeated after a lost answer")
    status = await fulfiller.get_outbound(OID)
    assert status is not None and status.status is OutboundStatus.CANCELED

    locked = "MERC02LOCKED0002"
    await fulfiller.create_outbound(outbound(locked, "SHOP-1005", [(j["A-1"], "A-1", 1)]))
    await ffn.start_work(locked)
    with pytest.raises(ManualActionNeeded):
        await fulfiller.cancel_outbound(locked, "too late")
    status = await fulfiller.get_outbound(locked)
    assert status is not None and status.status is OutboundStatus.LOCKED


async def test_shipping_notifications_partial_then_final_oldest_first_in_the_window(
    ffn: FulfillerDriver,
) -> None:
    fulfiller = ffn.fulfiller()
    j = await stocked(ffn, fulfiller, "A-1", "B-2")
    await fulfiller.create_outbound(outbound(OID, "SHOP-1006", [(j["A-1"], "A-1", 2), (j["B-2"], "B-2", 1)]))
    ffn.clock.advance(60)
    start = ffn.clock.now()
    await ffn.ship(OID, [("A-1", 1)], tracking=True)
    ffn.clock.advance(60)
    await ffn.ship(OID, None, tracking=False)
    ffn.clock.advance(60)

    partial, final = await collect(fulfiller.shipping_notifications(Window(start, ffn.clock.now())))

    assert partial.outbound_id == final.outbound_id == OID and partial.shipment_id != final.shipment_id
    assert partial.merchant_outbound_number == "SHOP-1006"
    assert partial.outbound_status == "PartiallyShipped" and final.outbound_status == "Shipped"
    assert [(line.jfsku, line.quantity) for line in partial.lines] == [(j["A-1"], 1)]
    assert sorted((line.jfsku, line.quantity) for line in final.lines) == sorted(
        [(j["A-1"], 1), (j["B-2"], 1)]
    )
    assert [t.number for t in partial.trackings] and final.trackings == ()
    later = Window(ffn.clock.now(), ffn.clock.now() + timedelta(minutes=5))
    assert await collect(fulfiller.shipping_notifications(later)) == []


async def test_shipping_notifications_are_read_across_pages(ffn: FulfillerDriver) -> None:
    fulfiller = ffn.fulfiller()
    j = await stocked(ffn, fulfiller, "A-1")
    ids = [f"MERC02SHIP{n:04}XY" for n in range(4)]
    for n, oid in enumerate(ids):
        await fulfiller.create_outbound(outbound(oid, f"SHOP-2{n}", [(j["A-1"], "A-1", 1)]))
    for oid in ids:
        ffn.clock.advance(1)
        await ffn.ship(oid, None, tracking=True)

    shipped = await collect(fulfiller.shipping_notifications(since(ffn)))

    assert [s.outbound_id for s in shipped] == ids  # more than one chunk of 3, oldest first


async def test_outbound_changes_in_the_window_oldest_first_across_pages(ffn: FulfillerDriver) -> None:
    fulfiller = ffn.fulfiller()
    j = await stocked(ffn, fulfiller, "A-1")
    ids = [f"MERC02FEED{n:04d}XY" for n in range(7)]
    for n, oid in enumerate(ids):
        ffn.clock.advance(1)
        await fulfiller.create_outbound(outbound(oid, f"SHOP-3{n}", [(j["A-1"], "A-1", 1)]))
    ffn.clock.advance(60)
    mark = ffn.clock.now()

    changes = await collect(fulfiller.outbound_changes(Window(mark - timedelta(hours=1), mark)))
    await ffn.start_work(ids[2])
    ffn.clock.advance(1)
    later = await collect(fulfiller.outbound_changes(Window(mark, ffn.clock.now())))

    assert [c.outbound_id for c in changes] == ids and {c.status for c in changes} == {OutboundStatus.PENDING}
    assert [(c.outbound_id, c.status) for c in later] == [(ids[2], OutboundStatus.LOCKED)]


async def test_stock_changes_are_absolute_levels_in_the_window(ffn: FulfillerDriver) -> None:
    fulfiller = ffn.fulfiller()
    jfsku = await fulfiller.upsert_product(product("A-1"))
    await ffn.set_stock("A-1", 10)
    ffn.clock.advance(60)
    mark = ffn.clock.now()
    await ffn.set_stock("A-1", 4)
    ffn.clock.advance(1)

    before = await collect(fulfiller.stock_changes(Window(mark - timedelta(hours=1), mark)))
    after = await collect(fulfiller.stock_changes(Window(mark, ffn.clock.now())))

    assert [(s.jfsku, s.merchant_sku, s.available) for s in before] == [(jfsku, "A-1", 10)]
    assert [(s.jfsku, s.merchant_sku, s.available) for s in after] == [(jfsku, "A-1", 4)]


async def test_stock_complete_reports_every_product_once_zero_included(ffn: FulfillerDriver) -> None:
    fulfiller = ffn.fulfiller()
    for n in range(5):
        await fulfiller.upsert_product(product(f"P-{n}"))
    await ffn.set_stock("P-1", 8)
    await ffn.set_stock("P-1", 9)
    await ffn.set_stock("P-3", 2)

    levels = [(s.merchant_sku, s.available) for s in await collect(fulfiller.stock_complete())]

    assert sorted(levels) == [("P-0", 0), ("P-1", 9), ("P-2", 0), ("P-3", 2), ("P-4", 0)]


async def test_a_revoked_consent_is_an_auth_error_telling_to_log_in_again(ffn: FulfillerDriver) -> None:
    fulfiller = ffn.fulfiller()
    await fulfiller.get_outbound(OID)
    ffn.clock.advance(1)
    await ffn.revoke_consent()

    with pytest.raises(AuthError) as caught:
        await fulfiller.get_outbound(OID)

    assert "ffn-login" in str(caught.value)
    assert CLIENT_SECRET not in f"{caught.value} {caught.value!r} {caught.value.details} {fulfiller!r}"


async def test_an_expired_access_token_is_refreshed_and_the_call_repeated(ffn: FulfillerDriver) -> None:
    fulfiller = ffn.fulfiller()
    j = await stocked(ffn, fulfiller, "A-1")
    await ffn.expire_access()
    assert await fulfiller.create_outbound(outbound(OID, "SHOP-1007", [(j["A-1"], "A-1", 1)])) == OID
    assert ffn.outbound_count() == 1
    if isinstance(ffn, FfnDriver):
        assert ffn.oauth.refreshes == 1


def over_http(ffn: FulfillerDriver) -> FfnDriver:
    if not isinstance(ffn, FfnDriver):
        pytest.skip("the fake has no wire: nothing to rate-limit or garble")
    return ffn


async def test_a_rate_limit_is_waited_out_as_long_as_ffn_asks(ffn: FulfillerDriver) -> None:
    driver = over_http(ffn)
    fulfiller = ffn.fulfiller()
    j = await stocked(ffn, fulfiller, "A-1")
    driver.wire.fail_next(429, times=2, retry_after_s=7)

    assert await fulfiller.create_outbound(outbound(OID, "SHOP-1008", [(j["A-1"], "A-1", 1)])) == OID

    assert ffn.outbound_count() == 1
    assert len([s for s in ffn.clock.slept if s >= 7]) >= 2


async def test_server_errors_are_retried_then_raised_as_retryable(ffn: FulfillerDriver) -> None:
    fulfiller = ffn.fulfiller()
    j = await stocked(ffn, fulfiller, "A-1")
    if isinstance(ffn, FfnDriver):
        ffn.wire.fail_next(503)
        assert await fulfiller.get_outbound("MERC02NOPE000000") is None  # one blip is retried
    ffn.fail_always(503)

    with pytest.raises(RetryableError):
        await fulfiller.get_outbound(OID)
    with pytest.raises(RetryableError):
        await fulfiller.create_outbound(outbound(OID, "SHOP-1009", [(j["A-1"], "A-1", 1)]))
    with pytest.raises(RetryableError):
        await collect(fulfiller.outbound_changes(since(ffn)))
    ffn.fail_always(0)
    assert ffn.outbound_count() == 0


async def test_a_malformed_answer_is_a_typed_error(ffn: FulfillerDriver) -> None:
    driver = over_http(ffn)
    fulfiller = ffn.fulfiller()
    j = await stocked(ffn, fulfiller, "A-1")
    await fulfiller.create_outbound(outbound(OID, "SHOP-1010", [(j["A-1"], "A-1", 1)]))
    driver.wire.garble()

    with pytest.raises(SyncError):
        await fulfiller.get_outbound(OID)
    with pytest.raises(SyncError):
        await collect(fulfiller.stock_complete())
