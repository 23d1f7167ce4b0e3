"""What differs per shop kind: sandbox credentials, config lines, and how to read its traffic and orders.

Credentials are the test credentials documented in each sandbox module's docstring. Secrets reach the
config only as ``env:`` references; ``ShopKind.env`` holds the values a world puts in the environment.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sandboxes.kit.tenants import shop_credential

LogEntry = Mapping[str, Any]

SHOPIFY_LOCATION = "gid://shopify/Location/1000001"


def _method(entry: LogEntry) -> str:
    return str(entry["method"])


def _path(entry: LogEntry) -> str:
    return str(entry["path"])


def _shopify_is_write(entry: LogEntry) -> bool:
    # Every Admin GraphQL call is a POST; only mutations change the shop.
    return _method(entry) == "POST" and "mutation" in str(entry.get("request_body", ""))


def _shopify_is_stock_write(entry: LogEntry) -> bool:
    return _shopify_is_write(entry) and "inventorySetQuantities" in str(entry.get("request_body", ""))


def _shopify_is_read(entry: LogEntry) -> bool:
    return _method(entry) == "POST" and "graphql" in _path(entry) and not _shopify_is_write(entry)


def _shopify_shipped(order: Mapping[str, Any]) -> int:
    return len(order.get("fulfillments") or [])


_SHOPWARE_READ_POSTS = ("/api/search/", "/api/oauth/token")


def _shopware_is_write(entry: LogEntry) -> bool:
    if _method(entry) == "GET":
        return False
    return not (_method(entry) == "POST" and _path(entry).startswith(_SHOPWARE_READ_POSTS))


def _shopware_is_stock_write(entry: LogEntry) -> bool:
    return _method(entry) == "POST" and _path(entry) == "/api/_action/sync"


def _shopware_is_read(entry: LogEntry) -> bool:
    return _method(entry) == "GET" or (_method(entry) == "POST" and _path(entry).startswith("/api/search/"))


def _shopware_shipped(order: Mapping[str, Any]) -> int:
    shipped = 0
    for delivery in order.get("deliveries") or []:
        state = (delivery.get("stateMachineState") or {}).get("technicalName", "")
        if delivery.get("trackingCodes") or str(state).startswith("shipped"):
            shipped += 1
    return shipped


def _woo_is_write(entry: LogEntry) -> bool:
    return _method(entry) in ("POST", "PUT", "PATCH", "DELETE")


def _woo_is_stock_write(entry: LogEntry) -> bool:
    return _method(entry) == "POST" and _path(entry).endswith("/batch")


def _woo_is_read(entry: LogEntry) -> bool:
    return _method(entry) == "GET"


def _woo_shipped(order: Mapping[str, Any]) -> int:
    tracked = len(order.get("tracking_items") or [])
    return tracked or (1 if order.get("status") == "completed" else 0)


class CredentialLines(Protocol):
    def __call__(self, prefix: str, shop: str | None = None) -> list[str]: ...


class CredentialValues(Protocol):
    def __call__(self, prefix: str, shop: str | None = None) -> dict[str, str]: ...


def _own(default: str, shop: str | None) -> str:
    """The credential of one shop of a multi-shop sandbox (the default shop's when ``shop`` is None)."""
    return default if shop is None else shop_credential(default, shop)


@dataclass(frozen=True)
class ShopKind:
    kind: str
    channel: str
    order_prefix: str
    # (env-var prefix, shop handle or None for the sandbox's default shop) -> TOML lines of
    # [channels.credentials], and the secret values behind their env: references.
    credentials: CredentialLines
    env: CredentialValues
    is_write: Callable[[LogEntry], bool]
    is_stock_write: Callable[[LogEntry], bool]
    is_read: Callable[[LogEntry], bool]
    shipped: Callable[[Mapping[str, Any]], int]  # shipments recorded on one order (vendor JSON)
    extra: dict[str, Any] = field(default_factory=dict)


SHOPS: dict[str, ShopKind] = {
    "shopify": ShopKind(
        kind="shopify",
        channel="shopify-demo",
        order_prefix="SH-",
        credentials=lambda p, shop=None: [
            f'access_token = "env:{p}_SHOPIFY_TOKEN"',
            f'location_id = "{SHOPIFY_LOCATION}"',
        ],
        env=lambda p, shop=None: {f"{p}_SHOPIFY_TOKEN": _own("shpat_sandbox", shop)},
        is_write=_shopify_is_write,
        is_stock_write=_shopify_is_stock_write,
        is_read=_shopify_is_read,
        shipped=_shopify_shipped,
    ),
    "shopware": ShopKind(
        kind="shopware",
        channel="shopware-demo",
        order_prefix="SW-",
        credentials=lambda p, shop=None: [
            f'client_id = "{_own("SWIASANDBOXACCESSKEY00000001", shop)}"',
            f'client_secret = "env:{p}_SHOPWARE_SECRET"',
        ],
        env=lambda p, shop=None: {
            f"{p}_SHOPWARE_SECRET": _own("sandbox-secret-access-key-0000000000000000000000", shop)
        },
        is_write=_shopware_is_write,
        is_stock_write=_shopware_is_stock_write,
        is_read=_shopware_is_read,
        shipped=_shopware_shipped,
    ),
    "woocommerce": ShopKind(
        kind="woocommerce",
        channel="woo-demo",
        order_prefix="WC-",
        credentials=lambda p, shop=None: [
            f'consumer_key = "env:{p}_WOO_KEY"',
            # auth stays "auto": the sandbox speaks plain HTTP, where WooCommerce accepts only OAuth 1.0a.
            f'consumer_secret = "env:{p}_WOO_SECRET"',
        ],
        env=lambda p, shop=None: {
            f"{p}_WOO_KEY": _own("ck_sandbox", shop),
            f"{p}_WOO_SECRET": _own("cs_sandbox", shop),
        },
        is_write=_woo_is_write,
        is_stock_write=_woo_is_stock_write,
        is_read=_woo_is_read,
        shipped=_woo_shipped,
    ),
}


SHOP_KINDS = tuple(SHOPS)
FULFILLER_KIND = "ffn"


def ffn_is_write(entry: LogEntry) -> bool:
    return _method(entry) != "GET" and _path(entry) != "/token"


def ffn_is_read(entry: LogEntry) -> bool:
    return _method(entry) == "GET" and _path(entry).startswith("/api/")
