"""GDPR: personal data leaves the snapshot a configurable time after the order closed; nothing else does."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from daemon.engine.codec import from_payload
from daemon.engine.cycle import CycleCounts
from daemon.engine.flows import orders, purge
from daemon.model import Address, ShopOrder
from tests.daemon.engine.conftest import World

PERSON = Address(
    first_name="Erika",
    last_name="Mustermann",
    company="Muster GmbH",
    street="Heidestraße 17",
    extra_line="Hinterhaus",
    zip="51147",
    city="Köln",
    country_code="DE",
    email="erika@example.org",
    phone="+49 221 123456",
)


async def _row(world: World, order_id: str) -> dict[str, Any]:
    row = await world.pool.fetchrow(
        "SELECT payload, pulled_hash, pushed_hash, remote_id, remote_status, state, label"
        " FROM snapshot WHERE merchant_id = 'acme' AND entity = 'order' AND external_id = $1",
        order_id,
    )
    assert row is not None
    return dict(row)


async def test_personal_data_is_purged_days_after_the_order_closed_keeping_ids_hashes_and_states(
    world: World,
) -> None:
    world.ctx.settings = replace(world.ctx.settings, personal_data_days=90)
    for n in (1, 2):
        world.order(
            n, shipping_address=PERSON, email="erika@example.org", phone="+49 221 1", note="ring twice"
        )
    await orders.run(world.ctx, world.ctx.settings.channel("shop"), CycleCounts())
    assert len(world.ffn.outbounds) == 2
    # Order 1 ships; order 2 stays open in FFN.
    await world.pool.execute(
        "UPDATE snapshot SET remote_status = 'Shipped' WHERE entity = 'order' AND external_id = '1'"
    )
    before = {n: await _row(world, n) for n in ("1", "2")}

    await purge.run(world.ctx, CycleCounts())  # sees order 1 closed: the 90 days start now
    world.clock.advance(timedelta(days=89).total_seconds())
    await purge.run(world.ctx, CycleCounts())
    assert await _row(world, "1") == before["1"]

    world.clock.advance(timedelta(days=2).total_seconds())
    counts = CycleCounts()
    await purge.run(world.ctx, counts)
    assert counts.changed == 1
    after = await _row(world, "1")
    payload = after.pop("payload")
    assert after == {k: v for k, v in before["1"].items() if k != "payload"}  # ids, hashes, states stay
    assert payload["shipping_address"] == {"country_code": "DE"}
    assert (payload["email"], payload["phone"], payload["note"]) == (None, None, None)
    assert payload["lines"] == before["1"]["payload"]["lines"] and payload["number"] == "#1"
    text = str(payload)
    for personal in (
        "Erika",
        "Mustermann",
        "Muster GmbH",
        "Heidestraße",
        "51147",
        "Köln",
        "example.org",
        "221",
    ):
        assert personal not in text, personal
    assert from_payload(ShopOrder, payload).order_id == "1"  # still readable by every flow
    assert await _row(world, "2") == before["2"]  # open: untouched

    # The shop still has the same order: pulling it again restores nothing and exports nothing.
    writes = len(world.ffn.writes)
    await orders.run(world.ctx, world.ctx.settings.channel("shop"), CycleCounts())
    assert (await _row(world, "1"))["payload"] == payload and len(world.ffn.writes) == writes


async def test_an_order_changed_in_the_shop_after_the_purge_is_purged_again(world: World) -> None:
    world.ctx.settings = replace(world.ctx.settings, personal_data_days=90)
    world.order(1, shipping_address=PERSON, email="erika@example.org", phone="+49 221 1", note="ring twice")
    await orders.run(world.ctx, world.ctx.settings.channel("shop"), CycleCounts())
    await world.pool.execute("UPDATE snapshot SET remote_status = 'Shipped' WHERE entity = 'order'")
    await purge.run(world.ctx, CycleCounts())
    world.clock.advance(timedelta(days=91).total_seconds())
    await purge.run(world.ctx, CycleCounts())
    assert (await _row(world, "1"))["payload"]["email"] is None
    # Months later the merchant edits the order (a note, a refund): it is pulled again, in full.
    world.order(1, shipping_address=PERSON, email="erika@example.org", phone="+49 221 1", note="refunded")
    await orders.run(world.ctx, world.ctx.settings.channel("shop"), CycleCounts())
    assert (await _row(world, "1"))["payload"]["email"] == "erika@example.org"
    await purge.run(world.ctx, CycleCounts())  # closed long enough already: purged on the next run
    assert (await _row(world, "1"))["payload"]["email"] is None
