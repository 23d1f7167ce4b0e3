"""Merchant API paths, relative to the API base URL (``…/api``; the spec's paths start with ``/api``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

MERCHANT = "/v1/merchant"
PRODUCTS = f"{MERCHANT}/products"
OUTBOUNDS = f"{MERCHANT}/outbounds"
OUTBOUND_UPDATES = f"{MERCHANT}/outbounds/updates"
SHIPPING_NOTIFICATION_UPDATES = f"{MERCHANT}/outbounds/shipping-notifications/updates"
STOCK_UPDATES = f"{MERCHANT}/stocks/updates"
STOCKS_COMPLETE = f"{MERCHANT}/stocks/complete"
WAREHOUSES = f"{MERCHANT}/warehouses"
SHIPPING_METHODS = f"{MERCHANT}/shippingmethods"
FULFILLERS = f"{MERCHANT}/fulfillers"


def segment(value: str) -> str:
    """One path segment, fully percent-encoded (order numbers may contain '/', '#', spaces)."""
    return quote(value, safe="")


def product(jfsku: str) -> str:
    return f"{PRODUCTS}/{segment(jfsku)}"


def product_authorizations(jfsku: str) -> str:
    return f"{product(jfsku)}/authorizations"


def outbound(outbound_id: str) -> str:
    return f"{OUTBOUNDS}/{segment(outbound_id)}"


def outbound_status(outbound_id: str) -> str:
    return f"{outbound(outbound_id)}/status"


def shipping_method(shipping_method_id: str) -> str:
    return f"{SHIPPING_METHODS}/{segment(shipping_method_id)}"


def odata(path: str, params: Mapping[str, Any]) -> str:
    """``path?$top=…&$filter=…``: the OData keys keep their literal ``$`` as in every real client and the
    spec's own links; values are fully percent-encoded."""
    query = "&".join(
        f"{key}={quote(str(value), safe='')}" for key, value in params.items() if value is not None
    )
    return f"{path}?{query}" if query else path
