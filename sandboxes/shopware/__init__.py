"""Shopware 6 Admin API sandbox: the endpoints ffn-sync uses, in memory, shaped by the official
Admin API OpenAPI files (6.6.10.13 and 6.7.9.1).

Test credentials (an "integration" as created under Settings › System › Integrations)::

    base URL          http://127.0.0.1:<port>        (Admin API under /api)
    client_id         SWIASANDBOXACCESSKEY00000001
    client_secret     sandbox-secret-access-key-0000000000000000000000
    grant             POST /api/oauth/token {"grant_type": "client_credentials", ...}
    token lifetime    600 s (knob ``token_ttl_s``)

Many shops: ``/shops/{shop}/`` is shop ``{shop}``, with its own data and integration (``client_id`` and
``client_secret`` above with ``-{shop}`` appended) and its control API under ``/shops/{shop}/_sandbox/``;
un-prefixed paths are the default shop.

Admin API routes: ``POST /api/oauth/token``, ``GET /api/_info/version``, ``POST /api/search/{entity}``
(Criteria: equals/equalsAny/contains/prefix/suffix/range/multi/not, ids, sort, page/limit,
associations), ``GET|PATCH /api/{entity}/{id}``, ``POST /api/tag``, ``POST /api/webhook``,
``DELETE /api/webhook/{id}`` (deliveries and their knobs: ``webhooks.py``),
``POST /api/_action/{order|order_delivery|order_transaction}/{id}/state/{transition}``,
``POST /api/_action/sync`` (product upserts). Every route needs ``Accept: application/json``.

Control API (``/_sandbox/``): ``POST products`` ``{sku, name, ean, price, weight_kg, stock,
parent_sku, digital}``, ``PATCH products/{sku}``, ``POST orders`` ``{lines:[{sku, qty, price}], paid,
shipping_method, address:{first_name, last_name, company, street, extra_line, zip, city, state,
country_code, email, phone}, tags, digital_lines, note}`` → ``{id, number}``, ``PATCH orders/{id}``
``{lines, address, note, paid}``, ``POST orders/{id}/cancel``, ``GET orders/{id}``, ``GET stock``,
``POST tokens/expire``, ``GET|PUT webhooks``; plus the shared ``requests``, ``faults`` and ``reset``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from daemon.clock import SYSTEM_CLOCK, Clock
from sandboxes.kit import make_app
from sandboxes.kit.tenants import Tenants, by_path_prefix, serve_tenants, shop_credential
from sandboxes.kit.webhooks import Deliveries, add_routes
from sandboxes.shopware import api_read, api_write, control
from sandboxes.shopware.errors import fault_response
from sandboxes.shopware.shop import FULL_VERSIONS, SHOP_KEY, Shop
from sandboxes.shopware.tokens import TokenIssuer
from sandboxes.shopware.webhooks import DEFAULT_KNOBS, ShopwareWebhooks

CLIENT_ID = "SWIASANDBOXACCESSKEY00000001"
CLIENT_SECRET = "sandbox-secret-access-key-0000000000000000000000"

__all__ = ["CLIENT_ID", "CLIENT_SECRET", "SHOP_KEY", "Shop", "create_app", "shop_app"]


def create_app(version: str = "6.7", **knobs: Any) -> web.Application:
    """The default shop, serving every other shop under ``/shops/{shop}/`` (Shopware in a subdirectory,
    built on its first request, ``kit/tenants.py``) with its own data, integration (the default
    credentials with ``-{shop}`` appended), tokens, faults, log and webhooks."""
    app = shop_app(version, **knobs)

    def build(shop: str) -> web.Application:
        own = {
            "client_id": shop_credential(str(knobs.get("client_id", CLIENT_ID)), shop),
            "client_secret": shop_credential(str(knobs.get("client_secret", CLIENT_SECRET)), shop),
        }
        return shop_app(version, **{**knobs, **own})

    serve_tenants(app, Tenants(build), by_path_prefix)
    return app


def shop_app(
    version: str = "6.7",
    *,
    clock: Clock = SYSTEM_CLOCK,
    client_id: str = CLIENT_ID,
    client_secret: str = CLIENT_SECRET,
    token_ttl_s: int = 600,
    latency_ms: float = 0.0,
    **knobs: Any,
) -> web.Application:
    """A Shopware shop of ``version`` ("6.6" or "6.7", or a full version like "6.7.9.1")."""
    if knobs:
        raise TypeError(f"unknown sandbox knobs: {sorted(knobs)}")
    full = FULL_VERSIONS.get(version, version)
    if not full.startswith(("6.6", "6.7")):
        raise ValueError(f"unsupported Shopware version {version!r}; use 6.6 or 6.7")
    app, kit = make_app("shopware")
    kit.fault_response = fault_response
    kit.faults.latency_ms = latency_ms
    shop = Shop(full, clock, TokenIssuer(client_id, client_secret, token_ttl_s, clock))
    app[SHOP_KEY] = shop
    deliveries = Deliveries(clock, DEFAULT_KNOBS)
    hooks = ShopwareWebhooks(shop, deliveries)
    shop.on_event = shop.world.on_event = hooks.notify
    shop.deliveries = deliveries
    kit.reset_hooks.append(shop.reset)
    kit.reset_hooks.append(deliveries.reset)
    add_routes(app, deliveries, hooks.listing)

    app.router.add_post("/api/oauth/token", api_read.token)
    app.router.add_get("/api/_info/version", api_read.version)
    app.router.add_post("/api/search/{entity}", api_read.search)
    app.router.add_post("/api/tag", api_write.create_tag)
    hooks.add_routes(app)
    app.router.add_post("/api/_action/sync", api_write.sync)
    app.router.add_post("/api/_action/{entity}/{id}/state/{transition}", api_write.transition)
    app.router.add_get("/api/{entity}/{id}", api_read.detail)
    app.router.add_patch("/api/{entity}/{id}", api_write.patch)
    control.add_routes(app)
    return app
