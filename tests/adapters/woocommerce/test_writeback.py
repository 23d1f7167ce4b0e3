"""Client ⇄ sandbox: shipments, fulfiller statuses and stock written back.

What every shop adapter must do is tested once in tests/contracts; here is what is WooCommerce's own.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from adapters.woocommerce import WooCommerceChannel
from daemon.model import (
    FulfillerStatus,
    OrderRef,
    OutboundStatus,
    Shipment,
    ShipmentLine,
    ShopStock,
    Tracking,
)
from daemon.ports import ItemFailure
from tests.adapters.woocommerce.conftest import ChannelFactory, Shop, ShopFactory


def _shipment(
    sid: str, lines: list[tuple[str | None, str | None, int]], *numbers: str, status: str | None = None
) -> Shipment:
    return Shipment(
        shipment_id=sid,
        outbound_id="OB1",
        merchant_outbound_number="WC-1",
        lines=tuple(ShipmentLine(quantity=Decimal(q), line_id=lid, sku=sku) for lid, sku, q in lines),
        trackings=tuple(Tracking(number=n, carrier="DHL") for n in numbers),
        outbound_status=status,
    )


async def _order(shop: Shop) -> tuple[OrderRef, dict[str, Any]]:
    await shop.product("A-1")
    await shop.product("B-1")
    created = await shop.order([("A-1", 2), ("B-1", 1)])
    state = await shop.call("GET", f"/_sandbox/orders/{created['id']}")
    return OrderRef(str(created["id"]), created["number"]), state


async def test_partial_then_full_shipment_with_the_tracking_extension(
    shop: Shop, channel: WooCommerceChannel
) -> None:
    ref, state = await _order(shop)
    line_a, line_b = (str(i["id"]) for i in state["line_items"])
    await channel.apply_shipment(ref, _shipment("S1", [(line_a, "A-1", 1)], "00340001"))
    after_first = await shop.call("GET", f"/_sandbox/orders/{ref.order_id}")
    assert after_first["status"] == "processing"
    assert [t["tracking_number"] for t in after_first["tracking_items"]] == ["00340001"]
    assert after_first["tracking_items"][0]["tracking_provider"] == "DHL"
    # The second parcel names its lines by SKU only; quantities add up across restarts via order meta.
    await channel.apply_shipment(ref, _shipment("S2", [(None, "A-1", 1), (None, "B-1", 1)], "00340002"))
    done = await shop.call("GET", f"/_sandbox/orders/{ref.order_id}")
    assert done["status"] == "completed"
    assert [t["tracking_number"] for t in done["tracking_items"]] == ["00340001", "00340002"]
    meta = {m["key"]: m["value"] for m in done["meta_data"]}
    assert meta["_ffn_applied_shipments"] == ["S1", "S2"]
    assert meta["_ffn_shipped_quantities"] == {line_a: 2, line_b: 1}
    assert done["notes"] == []  # the extension informs the customer; no extra e-mail from us
    # Tracking is on the order before it becomes completed (the "completed" mail shows it).
    writes = [(e.method, e.path.rsplit("/", 1)[-1]) for e in shop.writes()]
    assert writes[-2:] == [("POST", "shipment-trackings"), ("POST", ref.order_id)]


async def test_a_retry_after_a_lost_answer_does_not_duplicate_tracking(
    shop: Shop, channel: WooCommerceChannel
) -> None:
    ref, _ = await _order(shop)
    # The tracking was posted but the final order update never happened (crash, timeout).
    await shop.vendor(
        "POST",
        f"/wc-shipment-tracking/v3/orders/{ref.order_id}/shipment-trackings",
        {"tracking_number": "0034", "tracking_provider": "DHL"},
    )
    await channel.apply_shipment(ref, _shipment("S1", [(None, "A-1", 1)], "0034"))
    state = await shop.call("GET", f"/_sandbox/orders/{ref.order_id}")
    assert [t["tracking_number"] for t in state["tracking_items"]] == ["0034"]


async def test_fallback_to_meta_and_customer_notes_without_the_extension(
    make_shop: ShopFactory, make_channel: ChannelFactory
) -> None:
    shop = await make_shop(shipment_tracking=False)
    channel = make_channel(shop)
    ref, state = await _order(shop)
    line_a, line_b = (str(i["id"]) for i in state["line_items"])
    await channel.apply_shipment(ref, _shipment("S1", [(line_a, None, 2)], "00340001"))
    await channel.apply_shipment(ref, _shipment("S2", [(line_b, None, 1)], "00340002"))
    await channel.apply_shipment(ref, _shipment("S2", [(line_b, None, 1)], "00340002"))
    done = await shop.call("GET", f"/_sandbox/orders/{ref.order_id}")
    assert done["status"] == "completed" and done["tracking_items"] == []
    notes = [(n["note"], n["customer_note"]) for n in done["notes"]]
    assert notes == [
        ("Part of your order has been shipped. Tracking: DHL: 00340001", True),
        ("Shipment 2: Your order has been shipped. Tracking: DHL: 00340002", True),
    ]
    meta = {m["key"]: m["value"] for m in done["meta_data"]}
    assert [t["number"] for t in meta["_ffn_tracking"]] == ["00340001", "00340002"]
    probes = [e for e in shop.requests() if e.path == "/wp-json/wc-shipment-tracking/v3"]
    assert [p.status for p in probes] == [404]  # probed once, remembered


async def test_fulfiller_cancel_notes_tags_and_cancels_only_when_asked(
    shop: Shop, channel: WooCommerceChannel
) -> None:
    ref, _ = await _order(shop)
    status = FulfillerStatus("OB1", "WC-1", OutboundStatus.CANCELED, cancel_reason="damaged")
    await channel.apply_order_status(ref, status, cancel_in_shop=False)
    state = await shop.call("GET", f"/_sandbox/orders/{ref.order_id}")
    assert state["status"] == "processing"
    assert [(n["note"], n["customer_note"]) for n in state["notes"]] == [
        ("Fulfillment status: Canceled (reason: damaged)", False)
    ]
    assert {m["key"]: m["value"] for m in state["meta_data"]}["ffn_tags"] == "ffn-cancelled"
    mark = shop.kit.log.last_seq
    await channel.apply_order_status(ref, status, cancel_in_shop=False)
    assert shop.writes(mark) == []

    other, _ = await _order_again(shop)
    await channel.apply_order_status(
        other, FulfillerStatus("OB2", "WC-2", OutboundStatus.CANCELED), cancel_in_shop=True
    )
    cancelled = await shop.call("GET", f"/_sandbox/orders/{other.order_id}")
    assert cancelled["status"] == "cancelled"


async def _order_again(shop: Shop) -> tuple[OrderRef, dict[str, Any]]:
    created = await shop.order([("A-1", 1)])
    return OrderRef(str(created["id"]), created["number"]), created


async def test_stock_batches_split_and_failures_stay_isolated(
    shop: Shop, channel: WooCommerceChannel
) -> None:
    for n in range(150):
        await shop.product(f"S-{n:03}")
    for colour in ("RED", "BLUE"):
        await shop.product(f"TEE-{colour}", parent_sku="TEE", option=colour)
    levels = [ShopStock(f"S-{n:03}", n) for n in range(150)]
    levels += [ShopStock("TEE-RED", 4), ShopStock("TEE-BLUE", 0), ShopStock("NOPE", 1)]
    levels.append(ShopStock("S-000", 9, stock_ref="424242"))  # a stale reference: the shop says invalid id
    results = await channel.set_stock(levels)
    by_key = {r.key: r for r in results}
    assert len(results) == 153
    assert not by_key["NOPE"].ok and "not found" in (by_key["NOPE"].error or "")
    assert not by_key["S-000"].ok and "invalid_id" in (by_key["S-000"].error or "")
    assert by_key["NOPE"].reason is by_key["S-000"].reason is ItemFailure.UNKNOWN_SKU
    assert all(r.ok for k, r in by_key.items() if k not in ("NOPE", "S-000"))
    stock = await shop.call("GET", "/_sandbox/stock")
    assert (
        stock["S-149"] == 149 and stock["TEE-RED"] == 4 and stock["TEE-BLUE"] == 0 and stock["S-000"] is None
    )
    batches = [e for e in shop.writes() if e.path.endswith("/batch")]
    sizes = sorted((e.path.endswith("/variations/batch"), len(e.request_json()["update"])) for e in batches)
    assert sizes == [(False, 50), (False, 100), (True, 2)]
    assert all(e.status == 200 for e in batches)
    # SKU look-ups are remembered: the next write needs batch calls only.
    mark = shop.kit.log.last_seq
    await channel.set_stock([ShopStock("S-001", 1), ShopStock("TEE-RED", 2)])
    assert [e.method for e in shop.requests(mark)] == ["POST", "POST"]


async def test_shipments_written_side_by_side_probe_the_tracking_extension_once(
    shop: Shop, channel: WooCommerceChannel
) -> None:
    await shop.product("A-1")
    refs = []
    for _ in range(3):
        created = await shop.order([("A-1", 2)])
        state = await shop.call("GET", f"/_sandbox/orders/{created['id']}")
        refs.append((OrderRef(str(created["id"]), created["number"]), str(state["line_items"][0]["id"])))
    await asyncio.gather(
        *(
            channel.apply_shipment(ref, _shipment(f"S{n}", [(line, None, 2)], f"0034000{n}"))
            for n, (ref, line) in enumerate(refs)
        )
    )
    probes = [e for e in shop.requests() if e.path == "/wp-json/wc-shipment-tracking/v3"]
    assert len(probes) == 1
