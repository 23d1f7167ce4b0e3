"""Shopware 6 Admin API adapter: client (``ShopwareChannel``), pure mapping, and a sandbox."""

from adapters.shopware.channel import ShopwareChannel

__all__ = ["ShopwareChannel"]
