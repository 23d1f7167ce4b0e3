"""Shipments and fulfiller statuses written back — client against the sandbox.

What every shop adapter must do is tested once in tests/contracts; here is what is Shopware's own.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from adapters.shopware import ShopwareChannel, writeback
from daemon.errors import ManualActionNeeded, RecordError
from daemon.model import FulfillerStatus, OrderRef, OutboundStatus, Shipment, ShipmentLine, Tracking
from tests.adapters.shopware.conftest import Sandbox


def shipment(
    sid: str, status: OutboundStatus | None, *codes: str, lines: tuple[ShipmentLine, ...] = ()
) -> Shipment:
    return Shipment(
        shipment_id=sid,
        outbound_id="OB-1",
        merchant_outbound_number="SW-1",
        lines=lines,
        trackings=tuple(Tracking(code, "DHL") for code in codes),
        outbound_status=status,
    )


async def placed(sandbox: Sandbox) -> tuple[OrderRef, dict[str, Any]]:
    await sandbox.product("A", stock=10)
    await sandbox.product("B", stock=10)
    created = await sandbox.order(("A", 2), ("B", 1))
    return OrderRef(created["id"], created["number"]), created


def delivery_of(sandbox: Sandbox, order_id: str) -> dict[str, Any]:
    store = sandbox.shop.store
    row = next(r for r in store.rows("order_delivery") if r["orderId"] == order_id)
    state = store.get("state_machine_state", row["stateId"])
    return {**row, "state": state["technicalName"] if state else None}


def writes(sandbox: Sandbox) -> list[str]:
    return [
        f"{e.method} {e.path}"
        for e in sandbox.vendor_traffic()
        if e.method != "GET" and "/search/" not in e.path and "oauth" not in e.path
    ]


async def test_partial_then_full_shipment_merges_tracking_codes(
    sandbox: Sandbox, channel: ShopwareChannel
) -> None:
    ref, created = await placed(sandbox)
    await channel.apply_shipment(ref, shipment("S1", OutboundStatus.PARTIALLY_SHIPPED, "T1"))
    first = delivery_of(sandbox, ref.order_id)
    assert (first["state"], first["trackingCodes"]) == ("shipped_partially", ["T1"])
    # The merchant adds a code by hand in between; it must survive.
    sandbox.shop.store.get("order_delivery", first["id"])["trackingCodes"].append("MANUAL")  # type: ignore[index]

    await channel.apply_shipment(ref, shipment("S2", OutboundStatus.SHIPPED, "T2", "T1"))

    final = delivery_of(sandbox, ref.order_id)
    assert (final["state"], final["trackingCodes"]) == ("shipped", ["T1", "MANUAL", "T2"])
    shown = await sandbox.control("GET", f"orders/{created['id']}")
    assert shown["deliveries"][0]["trackingCodes"] == ["T1", "MANUAL", "T2"]
    assert shown["deliveries"][0]["stateMachineState"]["technicalName"] == "shipped"
    transitions = [e.path.rsplit("/", 1)[-1] for e in sandbox.vendor_traffic() if "/state/" in e.path]
    assert transitions == ["ship_partially", "ship"]
    patches = [e.request_json() for e in sandbox.vendor_traffic() if e.method == "PATCH"]
    assert patches == [{"trackingCodes": ["T1"]}, {"trackingCodes": ["T1", "MANUAL", "T2"]}]


async def test_repeating_a_shipment_writes_nothing(sandbox: Sandbox, channel: ShopwareChannel) -> None:
    ref, _ = await placed(sandbox)
    await channel.apply_shipment(ref, shipment("S1", OutboundStatus.SHIPPED, "T1"))
    before = len(writes(sandbox))
    await channel.apply_shipment(ref, shipment("S1", OutboundStatus.SHIPPED, "T1"))
    assert len(writes(sandbox)) == before == 2


async def test_already_shipped_delivery_is_not_an_error(sandbox: Sandbox, channel: ShopwareChannel) -> None:
    ref, _ = await placed(sandbox)
    delivery_id = delivery_of(sandbox, ref.order_id)["id"]
    await channel.api.transition("order_delivery", delivery_id, "ship")  # the merchant was quicker

    await channel.apply_shipment(ref, shipment("S1", OutboundStatus.SHIPPED, "T1"))
    await channel.apply_shipment(ref, shipment("S2", OutboundStatus.PARTIALLY_SHIPPED))

    assert delivery_of(sandbox, ref.order_id)["state"] == "shipped"
    assert writes(sandbox).count(f"POST /api/_action/order_delivery/{delivery_id}/state/ship") == 1


async def test_illegal_transition_after_a_stale_read_is_resolved_by_reading_back(
    sandbox: Sandbox, channel: ShopwareChannel
) -> None:
    ref, _ = await placed(sandbox)
    delivery_id = delivery_of(sandbox, ref.order_id)["id"]
    await channel.api.transition("order_delivery", delivery_id, "ship")

    await writeback.transition_delivery(channel.api, ref, delivery_id, "ship", complete=True)

    illegal = [e for e in sandbox.vendor_traffic() if e.status == 400]
    assert (
        len(illegal) == 1
        and illegal[0].response_json()["errors"][0]["code"] == "SYSTEM__ILLEGAL_STATE_TRANSITION"
    )
    await channel.api.transition("order_delivery", delivery_id, "cancel")
    with pytest.raises(RecordError, match="cancelled"):
        await writeback.transition_delivery(channel.api, ref, delivery_id, "ship", complete=True)


async def test_without_outbound_status_quantities_decide(sandbox: Sandbox, channel: ShopwareChannel) -> None:
    ref, _ = await placed(sandbox)
    some = (ShipmentLine(Decimal(2), sku="A"),)
    await channel.apply_shipment(ref, shipment("S1", None, lines=some))
    assert delivery_of(sandbox, ref.order_id)["state"] == "shipped_partially"
    rest = (ShipmentLine(Decimal(2), sku="A"), ShipmentLine(Decimal(1), sku="B"))
    await channel.apply_shipment(ref, shipment("S2", None, lines=rest))
    assert delivery_of(sandbox, ref.order_id)["state"] == "shipped"


def cancelled(status: OutboundStatus = OutboundStatus.CANCELED) -> FulfillerStatus:
    return FulfillerStatus("OB-1", "SW-1", status, cancel_reason="out of stock")


async def test_fulfiller_cancel_tags_notes_and_cancels_when_asked(
    sandbox: Sandbox, channel: ShopwareChannel
) -> None:
    ref, created = await placed(sandbox)
    assert (await sandbox.control("GET", "stock")) == {"A": 8, "B": 9}

    await channel.apply_order_status(ref, cancelled(), cancel_in_shop=True)
    await channel.apply_order_status(ref, cancelled(), cancel_in_shop=True)  # idempotent

    shown = await sandbox.control("GET", f"orders/{created['id']}")
    assert shown["stateMachineState"]["technicalName"] == "cancelled"
    assert [t["name"] for t in shown["tags"]] == ["ffn-cancelled"]
    assert (await sandbox.control("GET", "stock")) == {"A": 10, "B": 10}  # given back by the shop
    note = "Fulfillment: outbound SW-1 Canceled: out of stock"
    assert sandbox.shop.history[-1]["internalComment"] == note
    patches = [e.request_json() for e in sandbox.vendor_traffic() if e.method == "PATCH"]
    assert len(patches) == 1
    if sandbox.version == "6.7":
        assert shown["internalComment"] == note and patches[0]["internalComment"] == note
    else:
        assert "internalComment" not in patches[0] and "internalComment" not in shown
    assert [e.path for e in sandbox.vendor_traffic() if e.path == "/api/tag"] == ["/api/tag"]


async def test_fulfiller_cancel_without_permission_to_cancel_only_tags(
    sandbox: Sandbox, channel: ShopwareChannel
) -> None:
    ref, created = await placed(sandbox)
    await channel.apply_order_status(ref, cancelled(OutboundStatus.PARTIALLY_CANCELED), cancel_in_shop=True)
    await channel.apply_order_status(ref, cancelled(), cancel_in_shop=False)
    shown = await sandbox.control("GET", f"orders/{created['id']}")
    assert shown["stateMachineState"]["technicalName"] == "open"
    assert [t["name"] for t in shown["tags"]] == ["ffn-cancelled"]
    if sandbox.version == "6.7":
        assert shown["internalComment"].count("Fulfillment:") == 2


async def test_a_completed_order_needs_a_human_to_cancel(sandbox: Sandbox, channel: ShopwareChannel) -> None:
    ref, _ = await placed(sandbox)
    await channel.api.transition("order", ref.order_id, "process")
    await channel.api.transition("order", ref.order_id, "complete")
    with pytest.raises(ManualActionNeeded, match=f"order {ref.number}"):
        await channel.apply_order_status(ref, cancelled(), cancel_in_shop=True)


async def test_the_status_tag_is_looked_up_once_and_reused(
    sandbox: Sandbox, channel: ShopwareChannel
) -> None:
    sandbox.shop.world.tag("ffn-cancelled")  # exists already in this shop
    first, _ = await placed(sandbox)
    second_created = await sandbox.order(("A", 1))
    second = OrderRef(second_created["id"], second_created["number"])
    await channel.apply_order_status(first, cancelled(), cancel_in_shop=False)
    await channel.apply_order_status(second, cancelled(), cancel_in_shop=False)
    paths = [e.path for e in sandbox.vendor_traffic()]
    assert paths.count("/api/search/tag") == 1 and "/api/tag" not in paths
    assert len(list(sandbox.shop.store.rows("tag"))) == 1
