"""Per-kind shop credentials. The table's shape follows the channel's ``kind``; keys of another kind are
refused as unknown, missing ones as required, so a wrong table is named precisely."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from daemon.config.references import PlainOrReference, SecretValue
from daemon.config.types import Section

_LOCATION_GID = "gid://shopify/Location/"


def _location_gid(value: Any) -> Any:
    # Admin UI and REST show the bare number; GraphQL needs the gid. Accept both, keep the gid.
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and re.fullmatch(r"\d+", value.strip()):
        return _LOCATION_GID + value.strip()
    return value


class ShopifyCredentials(Section):
    access_token: SecretValue
    """Admin API access token of the custom app (``shpat_…``)."""
    api_version: Annotated[str, Field(pattern=r"^\d{4}-(01|04|07|10)$")] = "2026-10"
    location_id: Annotated[
        str, BeforeValidator(_location_gid), Field(pattern=r"^gid://shopify/Location/\d+$")
    ]
    """The location FFN stock is written to and fulfilments are created from."""
    webhook_secret: SecretValue | None = None
    """The app's client secret (API secret key): Shopify signs webhook deliveries with it. Required when the
    channel has webhooks on."""
    webhook_secret_previous: SecretValue | None = None
    """During a rotation: the old client secret, accepted too (Shopify may sign with it for up to an hour)."""


class ShopwareCredentials(Section):
    client_id: PlainOrReference
    """Integration access key id (``SWIA…``); not secret, but env:/file: work too."""
    client_secret: SecretValue


class WooCommerceCredentials(Section):
    consumer_key: SecretValue
    consumer_secret: SecretValue
    auth: Literal["auto", "basic", "query", "oauth1"] = "auto"
    """How the keys are sent, as WooCommerce accepts them: ``auto`` = HTTP Basic for https://, OAuth 1.0a
    signatures for http://; ``query`` when the server strips the Authorization header ("Consumer key is
    missing"); ``oauth1`` behind a TLS proxy WordPress does not trust (``is_ssl()`` false)."""
