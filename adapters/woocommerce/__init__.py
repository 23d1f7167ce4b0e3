"""WooCommerce (REST API v3) shop channel."""
