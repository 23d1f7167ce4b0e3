"""Client ⇄ sandbox: reading changed orders and products.

What every shop adapter must do is tested once in tests/contracts; here is what is WooCommerce's own.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

from adapters.woocommerce import WooCommerceChannel
from daemon.clock import FakeClock
from daemon.model import ShopOrder, Window
from tests.adapters.woocommerce.conftest import ChannelFactory, Shop, ShopFactory

FAR = timedelta(hours=6)


async def _orders(channel: WooCommerceChannel, window: Window) -> list[ShopOrder]:
    return [o async for o in channel.changed_orders(window)]


async def test_window_filters_on_gmt_dates_in_a_far_from_utc_site(
    make_shop: ShopFactory, make_channel: ChannelFactory, clock: FakeClock
) -> None:
    shop = await make_shop(site_tz="Pacific/Auckland")  # UTC+13 in March
    await shop.product("A-1")
    ids = []
    for _ in range(3):
        ids.append((await shop.order([("A-1", 1)]))["id"])
        clock.advance(30 * 60)
    start = datetime(2026, 3, 1, 12, 15, tzinfo=UTC)
    window = Window(start, start + timedelta(minutes=30))
    orders = await _orders(make_channel(shop), window)
    assert [o.order_id for o in orders] == [str(ids[1])]
    assert orders[0].created_at == datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    query = parse_qs([e for e in shop.requests() if e.path.endswith("/orders")][-1].query)
    assert (
        query["dates_are_gmt"] == ["true"] and query["orderby"] == ["modified"] and query["order"] == ["asc"]
    )
    assert query["modified_after"] == ["2026-03-01T12:14:59"]
    # The same naive UTC bound read as shop time (no dates_are_gmt) selects something else entirely.
    local = await shop.vendor("GET", "/wc/v3/orders", modified_after="2026-03-01T12:14:59")
    assert sorted(o["id"] for o in local) == sorted(ids)


async def test_rows_modified_while_paging_are_not_lost(
    shop: Shop, make_channel: ChannelFactory, clock: FakeClock
) -> None:
    await shop.product("A-1")
    ids = []
    for _ in range(35):
        ids.append((await shop.order([("A-1", 1)]))["id"])
        clock.advance(1)
    window = Window(clock.now() - timedelta(hours=1), clock.now() + FAR)
    channel = make_channel(shop, page_size=10)
    seen: list[tuple[str, datetime]] = []
    pulled = channel.changed_orders(window)
    async for order in pulled:
        seen.append((order.order_id, order.updated_at))
        if len(seen) == 10:
            # wp-admin edits the first rows while the client is between pages: they jump to the end.
            clock.advance(5)
            for oid in ids[:3]:
                await shop.call("POST", f"/_sandbox/orders/{oid}/touch")
    order_ids = [o for o, _ in seen]
    assert set(order_ids) == {str(i) for i in ids}
    # The touched rows come again with their new date; nothing else is repeated.
    assert sorted({o for o in order_ids if order_ids.count(o) > 1}) == sorted(str(i) for i in ids[:3])
    assert len(seen) == len(set(seen)) == 38


async def test_more_rows_in_one_second_than_a_page_holds(
    shop: Shop, make_channel: ChannelFactory, clock: FakeClock
) -> None:
    await shop.product("A-1")
    ids = [(await shop.order([("A-1", 1)]))["id"] for _ in range(25)]
    window = Window(clock.now() - timedelta(minutes=1), clock.now() + FAR)
    orders = await _orders(make_channel(shop, page_size=10), window)
    assert [o.order_id for o in orders] == [str(i) for i in ids]
    reads = [parse_qs(e.query) for e in shop.requests() if e.path.endswith("/orders")]
    assert [(q["status"][0], q["page"][0]) for q in reads] == [
        ("any", "1"),
        ("any", "2"),
        ("any", "3"),
        ("trash", "1"),
    ]


async def test_paging_reads_each_page_about_once(
    shop: Shop, make_channel: ChannelFactory, clock: FakeClock
) -> None:
    await shop.product("A-1")
    for _ in range(100):
        await shop.order([("A-1", 1)])
        clock.advance(1)
    window = Window(clock.now() - timedelta(hours=1), clock.now() + FAR)
    orders = await _orders(make_channel(shop, page_size=20), window)
    assert len(orders) == 100
    reads = [parse_qs(e.query)["status"][0] for e in shop.requests() if e.path.endswith("/orders")]
    assert reads.count("any") <= 6  # five pages of rows, plus the last short or empty page
    assert reads.count("trash") == 1  # an empty trash costs one read per window


async def test_every_status_is_pulled_trash_included_and_digital_lines(
    shop: Shop, make_channel: ChannelFactory, clock: FakeClock
) -> None:
    await shop.product("A-1")
    await shop.product("E-BOOK", virtual=True)
    paid = await shop.order([("A-1", 1)], digital_lines=[{"sku": "E-BOOK", "qty": 1, "price": "5"}])
    failed = await shop.order([("A-1", 1)], status="failed")
    trashed = await shop.order([("A-1", 1)])
    await shop.call("DELETE", f"/_sandbox/orders/{trashed['id']}")
    window = Window(clock.now() - timedelta(minutes=1), clock.now() + FAR)
    orders = {o.order_id: o for o in await _orders(make_channel(shop), window)}
    assert set(orders) == {str(paid["id"]), str(failed["id"]), str(trashed["id"])}
    assert [(line.sku, line.requires_shipping) for line in orders[str(paid["id"])].lines] == [
        ("A-1", True),
        ("E-BOOK", False),
    ]
    # Failed and trashed orders are cancelled orders to the engine: an exported one is cancelled in FFN.
    assert orders[str(failed["id"])].cancelled and orders[str(trashed["id"])].cancelled
    assert orders[str(trashed["id"])].shop_status == "trash"
    assert not orders[str(paid["id"])].cancelled
    # WooCommerce replaces every status named beside "any" with it, the trash included: two reads.
    listed = [parse_qs(e.query)["status"] for e in shop.requests() if e.path.endswith("/orders")]
    assert listed == [["any"], ["trash"]]


async def test_line_skus_are_shown_live_and_get_order(shop: Shop, channel: WooCommerceChannel) -> None:
    await shop.product("OLD-SKU")
    created = await shop.order([("OLD-SKU", 2)])
    first = await channel.get_order(str(created["id"]))
    assert first is not None and first.lines[0].sku == "OLD-SKU"
    await shop.call("PATCH", "/_sandbox/products/OLD-SKU", {"sku": "NEW-SKU"})
    again = await channel.get_order(str(created["id"]))
    assert again is not None and again.lines[0].sku == "NEW-SKU"  # why the engine keeps the first snapshot
    assert await channel.get_order("999999") is None


async def test_cancel_and_touch_are_seen_as_changes(
    shop: Shop, channel: WooCommerceChannel, clock: FakeClock
) -> None:
    await shop.product("A-1")
    created = await shop.order([("A-1", 1)])
    clock.advance(60)
    mark = clock.now()
    await shop.call("POST", f"/_sandbox/orders/{created['id']}/touch")
    touched = await _orders(channel, Window(mark, mark + FAR))
    assert len(touched) == 1 and not touched[0].cancelled and touched[0].updated_at == mark
    clock.advance(60)
    await shop.call("POST", f"/_sandbox/orders/{created['id']}/cancel")
    cancelled = await _orders(channel, Window(clock.now(), clock.now() + FAR))
    assert cancelled[0].cancelled and cancelled[0].shop_status == "cancelled"


async def test_changed_products_yield_sellable_units(
    shop: Shop, make_channel: ChannelFactory, clock: FakeClock
) -> None:
    await shop.product("SIMPLE-1", name="Mug", ean="4006381333931", price="9.90", weight_kg=0.4)
    await shop.product("TEE-BLK", parent_sku="TEE", parent_name="Tee", option="Black", ean="111")
    await shop.product("TEE-GRN", parent_sku="TEE", parent_name="Tee", option="Green")
    await shop.product("E-BOOK", virtual=True)
    window = Window(clock.now() - timedelta(minutes=1), clock.now() + FAR)
    channel = make_channel(shop)
    products = [p async for p in channel.changed_products(window)]
    by_sku = {p.sku: p for p in products}
    assert set(by_sku) == {"SIMPLE-1", "TEE-BLK", "TEE-GRN"}
    assert by_sku["SIMPLE-1"].ean == "4006381333931" and str(by_sku["SIMPLE-1"].weight_kg) == "0.4"
    assert by_sku["TEE-BLK"].name == "Tee - Black" and by_sku["TEE-BLK"].ean == "111"
    parent_id = by_sku["TEE-BLK"].stock_ref.split("/")[0]  # type: ignore[union-attr]
    assert by_sku["TEE-GRN"].stock_ref == f"{parent_id}/{by_sku['TEE-GRN'].external_id}"


async def test_ean_from_meta_key(
    make_shop: ShopFactory, make_channel: ChannelFactory, clock: FakeClock
) -> None:
    shop = await make_shop(ean_meta_key="_alg_ean")
    await shop.product("SIMPLE-1", ean="4006381333931")
    await shop.call("PATCH", "/_sandbox/products/SIMPLE-1", {"ean": ""})  # global_unique_id emptied
    channel = make_channel(shop, ean_meta_key="_alg_ean")
    window = Window(clock.now() - timedelta(minutes=1), clock.now() + FAR)
    products = [p async for p in channel.changed_products(window)]
    assert [(p.sku, p.ean) for p in products] == [("SIMPLE-1", "4006381333931")]
