"""WooCommerce (REST API v3): the ShopChannel (``channel.py``), its paging and write-back, pure mapping."""

from adapters.woocommerce.channel import WooCommerceChannel

__all__ = ["WooCommerceChannel"]
