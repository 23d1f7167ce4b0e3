"""Shopify shop channel over the Admin GraphQL API (client, pure mapping, sandbox)."""

from adapters.shopify.channel import ShopifyChannel

__all__ = ["ShopifyChannel"]
