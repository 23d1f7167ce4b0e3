"""Shopify (Admin GraphQL API): the ShopChannel (``channel.py``), its reads and write-back, pure mapping."""

from adapters.shopify.channel import ShopifyChannel

__all__ = ["ShopifyChannel"]
