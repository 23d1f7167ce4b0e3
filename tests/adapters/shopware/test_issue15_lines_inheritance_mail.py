"""Download lines per version, parent changes reaching variants, sendMail following notify_customer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.shopware import ShopwareChannel
from daemon.clock import FakeClock
from daemon.model import FulfillerStatus, OrderRef, OutboundStatus, Shipment, Window
from daemon.secrets import Secret
from tests.adapters.shopware.conftest import CLIENT_ID, CLIENT_SECRET, Sandbox
from tests.adapters.shopware.spec_check import assert_traffic_valid


@pytest.fixture
async def quiet(sandbox: Sandbox, clock: FakeClock) -> AsyncIterator[ShopwareChannel]:
    client = ShopwareChannel(
        sandbox.url,
        client_id=CLIENT_ID,
        client_secret=Secret(CLIENT_SECRET),
        notify_customer=False,
        clock=clock,
    )
    yield client
    await client.aclose()
    assert_traffic_valid(sandbox.version, sandbox.kit.log.entries())


async def test_a_download_line_is_not_for_the_warehouse_on_either_version(
    sandbox: Sandbox, channel: ShopwareChannel
) -> None:
    await sandbox.product("BOOK", stock=5)
    await sandbox.product("EBOOK", digital=True)
    created = await sandbox.order(("BOOK", 1), digital_lines=[{"sku": "EBOOK", "qty": 1}])
    raw = (await sandbox.control("GET", f"orders/{created['id']}"))["lineItems"]
    download = next(i for i in raw if i["payload"]["productNumber"] == "EBOOK")
    assert download["good"] is True  # what Shopware sends: a download is a good as well
    if sandbox.version == "6.6":
        assert download["states"] == ["is-download"]
    else:
        assert download["payload"]["productType"] == "digital"
    order = await channel.get_order(created["id"])
    assert order is not None
    assert [(line.sku, line.requires_shipping) for line in order.lines] == [("BOOK", True), ("EBOOK", False)]


async def test_a_parent_change_reaches_its_variants(
    sandbox: Sandbox, channel: ShopwareChannel, clock: FakeClock
) -> None:
    await sandbox.product("SHIRT", name="Shirt", ean="4006381333931", weight_kg=0.3, price="29.75")
    await sandbox.product("SHIRT-S", parent_sku="SHIRT")
    await sandbox.product("SHIRT-M", parent_sku="SHIRT", ean="4006381333948")
    clock.advance(60)
    start = clock.now()
    await sandbox.control("PATCH", "products/SHIRT", {"name": "Shirt 2026", "weight_kg": 0.35})
    clock.advance(1)
    products = {p.sku: p async for p in channel.changed_products(Window(start, clock.now()))}
    assert set(products) == {"SHIRT-S", "SHIRT-M"}  # the variants' own rows did not change
    assert {p.name for p in products.values()} == {"Shirt 2026"}
    assert products["SHIRT-S"].weight_kg is not None and float(products["SHIRT-S"].weight_kg) == 0.35
    assert products["SHIRT-M"].ean == "4006381333948"  # its own value still wins


async def test_send_mail_follows_notify_customer(
    sandbox: Sandbox, channel: ShopwareChannel, quiet: ShopwareChannel
) -> None:
    await sandbox.product("A", stock=10)
    loud_order = await sandbox.order(("A", 1))
    quiet_order = await sandbox.order(("A", 1))
    ship = Shipment("S1", "OB-1", "SW-1", (), (), outbound_status=OutboundStatus.SHIPPED)
    await channel.apply_shipment(OrderRef(loud_order["id"], loud_order["number"]), ship)
    assert sandbox.shop.history[-1]["sendMail"] is True
    await quiet.apply_shipment(OrderRef(quiet_order["id"], quiet_order["number"]), ship)
    assert (sandbox.shop.history[-1]["transition"], sandbox.shop.history[-1]["sendMail"]) == ("ship", False)
    cancelled = FulfillerStatus("OB-2", "SW-2", OutboundStatus.CANCELED, "out of stock")
    other = await sandbox.order(("A", 1))
    await quiet.apply_order_status(OrderRef(other["id"], other["number"]), cancelled, cancel_in_shop=True)
    assert (sandbox.shop.history[-1]["transition"], sandbox.shop.history[-1]["sendMail"]) == ("cancel", False)
