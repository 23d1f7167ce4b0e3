"""The credentials ffn-sync generates per channel (WooCommerce's HMAC secret, Shopware's URL token) and their
rotation; Shopify signs with the app's client secret from the config, which ffn-sync cannot change.

A rotation is staged in Postgres (``ffn-sync webhooks --rotate``); the daemon's next registration pass
registers the new credential while accepting both, then keeps only the new one (``Registrar``).
"""

from __future__ import annotations

from daemon.secrets import Secret
from daemon.webhooks.types import WebhookCredentials

GENERATED_KINDS = frozenset({"shopware", "woocommerce"})
URL_TOKEN_KINDS = frozenset({"shopware"})  # unsigned deliveries: the credential travels in the URL path


def generated(kind: str, current: Secret, previous: Secret | None = None) -> WebhookCredentials:
    """``current`` is registered (and accepted); ``previous`` is accepted too, during a rotation."""
    if kind in URL_TOKEN_KINDS:
        return WebhookCredentials(token=current, previous_token=previous)
    return WebhookCredentials(secrets=(current,) if previous is None else (current, previous))


def what_rotates(kind: str) -> str:
    return "URL token" if kind in URL_TOKEN_KINDS else "webhook secret"
