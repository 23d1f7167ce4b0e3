from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from daemon.engine.cycle import CycleCounts
from daemon.engine.flows import orders, products, shipments, status, stock
from daemon.ids import outbound_id
from daemon.model import (
    FulfillerStatus,
    OrderLine,
    OutboundStatus,
    Shipment,
    ShipmentLine,
    ShopProduct,
    StockLevel,
    Tracking,
)
from tests.daemon.engine.conftest import World


async def export(world: World, *orders_: int) -> None:
    for n in orders_:
        world.order(
            n,
            lines=(
                OrderLine("a", "SKU-1", "Shirt", 3, Decimal(10)),
                OrderLine("b", "SKU-2", "Cap", 1, Decimal(5)),
            ),
        )
    await world.pool.execute(
        "INSERT INTO sku_map (merchant_id, sku, jfsku) VALUES ('acme', 'SKU-2', 'JFSKU000002')"
    )
    await orders.run(world.ctx, world.ctx.settings.channel("shop"), CycleCounts())


def shipment(world: World, sid: str, lines: list[tuple[str, int]], tracking: tuple[str, ...]) -> Shipment:
    return Shipment(
        shipment_id=sid,
        outbound_id=outbound_id("MERC", "shop", "1"),
        merchant_outbound_number="S-#1",
        lines=tuple(ShipmentLine(Decimal(q), jfsku=j) for j, q in lines),
        trackings=tuple(Tracking(t, "DHL") for t in tracking),
        updated_at=world.clock.now() - timedelta(seconds=20),
    )


async def test_partial_then_final_shipment_become_two_fulfilments_once_each(world: World) -> None:
    await export(world, 1)
    world.ffn.shipments.append(shipment(world, "N1", [("JFSKU000001", 2)], ("T-1", "T-2")))
    counts = CycleCounts()
    await shipments.run(world.ctx, counts)
    assert counts.pushed == 1
    world.clock.advance(60)
    world.ffn.shipments.append(shipment(world, "N2", [("JFSKU000001", 1), ("JFSKU000002", 1)], ()))
    await shipments.run(world.ctx, CycleCounts())
    # The overlap re-reads N1 and a replay of the whole feed changes nothing.
    await world.pool.execute("DELETE FROM cursors")
    world.ctx.cursors.forget()  # as after an announced rewind (test_cursor_memory.py)
    world.clock.advance(60)
    replay = CycleCounts()
    await shipments.run(world.ctx, replay)
    assert replay.pushed == 0 and replay.pulled == 2

    assert [(order, s.shipment_id) for order, s in world.shop.fulfilments] == [("1", "N1"), ("1", "N2")]
    first, second = world.shop.fulfilments[0][1], world.shop.fulfilments[1][1]
    assert [(line.sku, line.line_id, line.quantity) for line in first.lines] == [("SKU-1", "a", 2)]
    assert [t.number for t in first.trackings] == ["T-1", "T-2"]
    assert {(line.sku, line.quantity) for line in second.lines} == {("SKU-1", 1), ("SKU-2", 1)}
    assert second.trackings == ()


async def test_shipment_for_an_unknown_jfsku_is_parked_with_the_reason(world: World) -> None:
    await export(world, 1)
    world.ffn.shipments.append(shipment(world, "N1", [("JFSKU999999", 1)], ("T",)))
    counts = CycleCounts()
    await shipments.run(world.ctx, counts)
    assert counts.failed == 1 and world.shop.fulfilments == []
    reason = await world.pool.fetchval("SELECT last_error FROM snapshot WHERE entity = 'shipment'")
    assert "JFSKU999999" in reason and "S-#1" in reason


async def test_shipment_for_an_order_cancelled_in_the_shop_is_parked_for_a_human(world: World) -> None:
    await export(world, 1, 2)
    world.shop.put(replace(world.shop.orders["2"], cancelled=True))
    parcel = shipment(world, "N1", [("JFSKU000001", 3)], ("T-1",))
    world.ffn.shipments += [
        parcel,
        replace(parcel, shipment_id="N2", outbound_id=outbound_id("MERC", "shop", "2")),
    ]
    counts = CycleCounts()
    await shipments.run(world.ctx, counts)
    assert (counts.pushed, counts.failed) == (1, 1)
    assert [(order, s.shipment_id) for order, s in world.shop.fulfilments] == [("1", "N1")]
    row = await world.pool.fetchrow(
        "SELECT state, reason_code, last_error FROM snapshot WHERE entity = 'shipment' AND external_id = 'N2'"
    )
    assert (row["state"], row["reason_code"]) == ("failed", "manual_action")
    assert "order #2" in row["last_error"] and "cancelled" in row["last_error"]


async def test_fulfiller_cancel_reaches_the_shop_once_and_our_own_cancel_does_not_echo(world: World) -> None:
    await export(world, 1, 2)
    oid1, oid2 = outbound_id("MERC", "shop", "1"), outbound_id("MERC", "shop", "2")
    # Order 2 is cancelled in the shop: its Canceled status coming back from FFN is our own echo.
    world.clock.advance(30)
    world.shop.put(
        replace(world.shop.orders["2"], cancelled=True, updated_at=world.clock.now() - timedelta(seconds=10))
    )
    await orders.run(world.ctx, world.ctx.settings.channel("shop"), CycleCounts())
    world.ffn.changes += [
        FulfillerStatus(
            oid1, "S-#1", OutboundStatus.LOCKED, updated_at=world.clock.now() - timedelta(seconds=20)
        ),
        FulfillerStatus(
            oid1,
            "S-#1",
            OutboundStatus.CANCELED,
            "damaged",
            updated_at=world.clock.now() - timedelta(seconds=10),
        ),
        FulfillerStatus(
            oid2, "S-#2", OutboundStatus.CANCELED, updated_at=world.clock.now() - timedelta(seconds=10)
        ),
    ]
    await status.run(world.ctx, CycleCounts())
    await world.pool.execute("DELETE FROM cursors")
    world.ctx.cursors.forget()  # as after an announced rewind (test_cursor_memory.py)
    await status.run(world.ctx, CycleCounts())
    assert [(o, s.status, c) for o, s, c in world.shop.statuses] == [("1", OutboundStatus.CANCELED, False)]
    remote = await world.pool.fetchval(
        "SELECT remote_status FROM snapshot WHERE external_id = '1' AND entity = 'order'"
    )
    assert remote == "Canceled"


async def test_stock_subtracts_orders_not_yet_in_ffn_and_buffer_and_writes_only_changes(world: World) -> None:
    world.ctx.settings = replace(
        world.ctx.settings, channels=(replace(world.ctx.settings.channel("shop"), stock_buffer=1),)
    )
    at = world.clock.now() - timedelta(seconds=30)
    world.ffn.stock += [
        StockLevel("JFSKU000001", "SKU-1", Decimal(10), version=1, updated_at=at),
        StockLevel("JFSKU000002", "SKU-2", Decimal(0), version=1, updated_at=at),
        StockLevel("JFSKU000001", "SKU-1", Decimal(8), version=2, updated_at=at),
    ]
    # An eligible order that cannot be exported yet (unmapped shipping) still holds its 2 units.
    world.order(7, shipping_methods=("Teleport",))
    await orders.run(world.ctx, world.ctx.settings.channel("shop"), CycleCounts())
    counts = CycleCounts()
    await stock.run(world.ctx, counts)
    assert world.shop.stock == {"SKU-1": 8 - 2 - 1, "SKU-2": 0}
    world.clock.advance(60)
    again = CycleCounts()
    await stock.run(world.ctx, again)
    assert again.pushed == 0 and len(world.shop.stock_writes) == 1
    # An older version arriving late never overwrites a newer level.
    world.ffn.stock.append(
        StockLevel(
            "JFSKU000001",
            "SKU-1",
            Decimal(50),
            version=1,
            updated_at=world.clock.now() - timedelta(seconds=20),
        )
    )
    world.clock.advance(60)
    await stock.run(world.ctx, CycleCounts())
    assert world.shop.stock["SKU-1"] == 5


async def test_products_flow_maps_skus_and_requeues_orders_waiting_for_them(world: World) -> None:
    world.order(1, lines=(OrderLine("a", "NEW-1", "New", 1, Decimal(3)),))
    await orders.run(world.ctx, world.ctx.settings.channel("shop"), CycleCounts())
    assert world.ffn.outbounds == {}
    world.shop.products.append(
        ShopProduct(
            "NEW-1", "New", "v1", ean="4006381333931", updated_at=world.clock.now() - timedelta(seconds=30)
        )
    )
    counts = CycleCounts()
    await products.run(world.ctx, world.ctx.settings.channel("shop"), counts)
    assert counts.pushed == 1 and "NEW-1" in world.ffn.products
    await orders.run(world.ctx, world.ctx.settings.channel("shop"), CycleCounts())
    assert len(world.ffn.outbounds) == 1
