"""One driver per shop adapter (and the engine's fake); ``SHOP_DRIVERS`` is the suite's parameter list."""

from __future__ import annotations

from collections.abc import Callable

from tests.contracts.drivers.base import OrderState, Shipped, ShopDriver
from tests.contracts.drivers.fake import FakeDriver
from tests.contracts.drivers.shopify import ShopifyDriver
from tests.contracts.drivers.shopware import ShopwareDriver
from tests.contracts.drivers.woocommerce import WooCommerceDriver

SHOP_DRIVERS: dict[str, Callable[[], ShopDriver]] = {
    "shopify": lambda: ShopifyDriver("shopify", "shopify"),
    "shopware-6.6": lambda: ShopwareDriver("shopware", "shopware-6.6", version="6.6"),
    "shopware-6.7": lambda: ShopwareDriver("shopware", "shopware-6.7", version="6.7"),
    "woocommerce": lambda: WooCommerceDriver("woocommerce", "woocommerce"),
    "fake": lambda: FakeDriver("fake", "fake"),
}

__all__ = ["SHOP_DRIVERS", "OrderState", "Shipped", "ShopDriver"]
