"""WooCommerce (REST API v3) shop channel: client, pure mapping and a sandbox."""

from adapters.woocommerce.channel import WooCommerceChannel

__all__ = ["WooCommerceChannel"]
