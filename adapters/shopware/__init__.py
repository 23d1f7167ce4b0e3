"""Shopware 6 (Admin API): the ShopChannel (``channel.py``), its transport and write-back, pure mapping."""

from adapters.shopware.channel import ShopwareChannel

__all__ = ["ShopwareChannel"]
