"""A product Shopware cannot map is left out with one ERROR line in the shared wording (daemon/ports.py), and
the pull goes on. How every shop reports an order it cannot map, a gone order and a shop it cannot read
now is tested once for all shops in tests/contracts."""

from __future__ import annotations

from loguru import logger

from adapters.shopware import ShopwareChannel
from daemon.clock import FakeClock
from daemon.model import Window
from daemon.secrets import Secret
from sandboxes.shopware import CLIENT_ID, CLIENT_SECRET
from tests.adapters.shopware.conftest import Sandbox


async def test_an_unmappable_product_is_left_out_with_its_reason_and_the_pull_goes_on(
    sandbox: Sandbox, clock: FakeClock
) -> None:
    # Not the spec-checked ``channel`` fixture: a product without any name is outside the spec, which is
    # the point here (a payload the mapping cannot take).
    channel = ShopwareChannel(
        sandbox.url, client_id=CLIENT_ID, client_secret=Secret(CLIENT_SECRET), clock=clock
    )
    start = clock.now()
    await sandbox.product("A")
    broken = await sandbox.product("B")
    await sandbox.product("C")
    row = sandbox.shop.store.get("product", broken["id"])
    assert row is not None
    row["name"], row["translated"] = None, {}  # no name anywhere, not even inherited
    clock.advance(60)
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="ERROR")
    try:
        pulled = [p.sku async for p in channel.changed_products(Window(start, clock.now()))]
    finally:
        logger.remove(sink)
        await channel.aclose()

    assert pulled == ["A", "C"]  # it used to stop the whole pull at B
    assert (
        len(lines) == 1 and "shopware product" in lines[0] and "sku='B' left out: cannot be read:" in lines[0]
    )
