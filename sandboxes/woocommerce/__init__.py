"""A faithful in-memory WooCommerce (REST API ``/wp-json/wc/v3``) for tests, the demo and the benchmark.

Many shops: ``/shops/{shop}/…`` is shop ``{shop}`` (its own state and keys ``ck_sandbox-{shop}`` /
``cs_sandbox-{shop}``, control API under ``/shops/{shop}/_sandbox/``); un-prefixed paths are the default shop.

Test credentials: consumer key ``ck_sandbox``, consumer secret ``cs_sandbox``, accepted as WooCommerce
accepts them (``sandbox/auth.py``): a one-legged OAuth 1.0a signature over plain HTTP; HTTP Basic or
the ``consumer_key``/``consumer_secret`` query parameters only where PHP's ``is_ssl()`` is true (knob
``https``: ``off``, the default, ``on`` or ``forwarded`` = trust ``X-Forwarded-Proto``). Anything else
gets ``401 woocommerce_rest_cannot_view`` (or the authentication error WooCommerce names).

Served: ``GET /orders`` (``modified_after``/``modified_before``/``after``/``before`` in the site's
timezone unless ``dates_are_gmt=true``, ``orderby=modified``, ``status`` lists, ``page``/``per_page``
≤ 100 with ``X-WP-Total``, ``X-WP-TotalPages`` and ``Link``), ``GET|PUT|POST /orders/{id}``,
``GET|POST /orders/{id}/notes``, ``GET /products`` (also ``?sku=``, which finds variations),
``GET|PUT /products/{id}``, ``GET /products/{id}/variations``, ``POST /products/batch`` and
``POST /products/{id}/variations/batch`` (413 over 100 items, per-item errors in a 200),
``DELETE /orders/{id}`` (trash; ``force=true`` deletes), ``GET /orders/{id}/refunds``,
``GET /settings/products/woocommerce_weight_unit|woocommerce_dimension_unit``, and, with
``shipment_tracking=True``, the Shipment Tracking extension under ``/wp-json/wc-shipment-tracking/v3``.

Control API (DESIGN.md) under ``/_sandbox/``: ``POST products`` ``{sku, name, ean, price, weight_kg,
parent_sku?, option?, virtual?, stock?}``, ``PATCH|DELETE products/{sku}``, ``POST orders``
``{lines:[{sku, qty, price}], paid, shipping_method, address, tags, digital_lines}`` → ``{id, number}``,
``PATCH orders/{id}`` (``status`` runs WooCommerce's stock hooks), ``DELETE orders/{id}`` (trash),
``POST orders/{id}/refund`` ``{lines: [{sku, qty}], restock}``, ``PUT settings`` ``{weight_unit,
dimension_unit}``, ``GET|PUT webhooks`` (subscriptions, delivery attempts, fault knobs:
``webhooks.py``, which also serves ``/wc/v3/webhooks``), ``POST orders/{id}/cancel``, ``POST orders/{id}/touch`` (modified date bumped,
content unchanged, as viewing in wp-admin does), ``GET orders/{id}`` (vendor JSON plus
``tracking_items`` and ``notes``), ``GET stock`` → ``{sku: qty}``; plus the kit's requests/faults/reset.
Orders move managed stock as WooCommerce does (``sandbox/lifecycle.py``): taken on payment /
processing / on-hold, given back on cancelled / pending, and by refunds with ``restock``.
Injected 429/503 faults come back as a host's HTML page for a share ``html_error_share`` of them.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from daemon.clock import SYSTEM_CLOCK, Clock
from sandboxes.kit import make_app
from sandboxes.kit.tenants import Tenants, by_path_prefix, serve_tenants, shop_credential
from sandboxes.kit.webhooks import Deliveries, add_routes
from sandboxes.woocommerce import control, orders, products, settings, tracking
from sandboxes.woocommerce.auth import require_credentials
from sandboxes.woocommerce.responses import HostFaults, no_route
from sandboxes.woocommerce.state import SETTINGS_KEY, STATE_KEY, Settings, ShopState
from sandboxes.woocommerce.webhooks import DEFAULT_KNOBS, WooWebhooks

WEBHOOKS_KEY: web.AppKey[WooWebhooks] = web.AppKey("wc_webhooks", WooWebhooks)
CONSUMER_KEY = "ck_sandbox"
CONSUMER_SECRET = "cs_sandbox"
_KNOBS = {
    "clock",
    "consumer_key",
    "consumer_secret",
    "html_error_share",
    "seed",
    "batch_limit",
    "ean_meta_key",
    "https",
    "weight_unit",
    "dimension_unit",
}
_HTTPS_MODES = ("off", "on", "forwarded")


def create_app(
    site_tz: str = "Europe/Berlin", shipment_tracking: bool = True, **knobs: Any
) -> web.Application:
    """The default shop, serving every other shop under ``/shops/{shop}/`` (a WordPress in a subdirectory,
    built on its first request, ``kit/tenants.py``) with its own state, keys (the default ones with
    ``-{shop}`` appended), faults, log and webhooks. Knobs: see ``shop_app``."""
    app = shop_app(site_tz, shipment_tracking, **knobs)

    def build(shop: str) -> web.Application:
        own = {
            "consumer_key": shop_credential(str(knobs.get("consumer_key", CONSUMER_KEY)), shop),
            "consumer_secret": shop_credential(str(knobs.get("consumer_secret", CONSUMER_SECRET)), shop),
        }
        return shop_app(site_tz, shipment_tracking, **{**knobs, **own})

    serve_tenants(app, Tenants(build), by_path_prefix)
    return app


def shop_app(site_tz: str = "Europe/Berlin", shipment_tracking: bool = True, **knobs: Any) -> web.Application:
    """One shop. Knobs: ``clock`` (a ``daemon.clock.Clock``), ``consumer_key``, ``consumer_secret``,
    ``html_error_share`` (0..1, default 0.5), ``seed``, ``batch_limit`` (default 100),
    ``ean_meta_key`` (also store EANs in this product meta key), ``https`` (what ``is_ssl()`` says:
    ``off``, ``on``, ``forwarded``), ``weight_unit`` (kg), ``dimension_unit`` (cm)."""
    unknown = set(knobs) - _KNOBS
    if unknown:
        raise TypeError(f"unknown WooCommerce sandbox knobs: {sorted(unknown)}; allowed: {sorted(_KNOBS)}")
    clock: Clock = knobs.get("clock", SYSTEM_CLOCK)
    https = str(knobs.get("https", "off"))
    if https not in _HTTPS_MODES:
        raise ValueError(f"https knob must be one of {_HTTPS_MODES}, got {https!r}")
    app, kit = make_app("woocommerce")
    app.middlewares.append(require_credentials)
    state = ShopState(clock, site_tz)
    app[STATE_KEY] = state
    app[SETTINGS_KEY] = Settings(
        consumer_key=knobs.get("consumer_key", CONSUMER_KEY),
        consumer_secret=knobs.get("consumer_secret", CONSUMER_SECRET),
        shipment_tracking=shipment_tracking,
        batch_limit=int(knobs.get("batch_limit", 100)),
        https=https,
        weight_unit=str(knobs.get("weight_unit", "kg")),
        dimension_unit=str(knobs.get("dimension_unit", "cm")),
    )
    app[control.EAN_META_KEY] = str(knobs.get("ean_meta_key") or "")
    kit.reset_hooks.append(state.reset)
    # WooCommerce counts 2xx, 301 and 302 as delivered (WC_Webhook::log_delivery).
    deliveries = Deliveries(clock, DEFAULT_KNOBS, succeeded=lambda status: 200 <= status < 303)
    hooks = WooWebhooks(state, deliveries)
    app[WEBHOOKS_KEY] = hooks
    kit.reset_hooks.append(hooks.reset)
    add_routes(app, deliveries, hooks.listing)
    hooks.add_routes(app)
    kit.fault_response = HostFaults(float(knobs.get("html_error_share", 0.5)), knobs.get("seed"))
    orders.add_routes(app)
    products.add_routes(app)
    tracking.add_routes(app)
    settings.add_routes(app)
    control.add_routes(app)

    async def fallback(request: web.Request) -> web.Response:
        return no_route()

    app.router.add_route("*", "/wp-json/{tail:.*}", fallback)
    return app


__all__ = ["CONSUMER_KEY", "CONSUMER_SECRET", "WEBHOOKS_KEY", "create_app"]
