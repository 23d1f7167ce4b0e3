"""JTL-FFN Merchant API sandbox: the spec's paths under ``/api/v1/merchant/`` with in-memory state.

Test credentials (OAuth2 server on the same port):
- client id ``sandbox``, client secret ``sandbox-secret`` (HTTP Basic on ``POST /token``)
- ``GET /authorize?response_type=code&client_id=sandbox&redirect_uri=…&state=…`` redirects back with
  ``code=sandbox-code``; that code can be exchanged any number of times
  (``grant_type=authorization_code``), each time for a fresh token pair.
- refresh tokens are single-use (a replay answers 400 ``invalid_grant``); a refresh revokes the access
  token it replaces; access tokens live ``access_token_ttl_s`` (default 1800 s, as in the spec's example).

Many merchants: ``POST /_sandbox/clients {merchant_id, client_id?, client_secret?}`` registers an OAuth
client holding that merchant's consent (4 characters, ``[A-Z0-9]``; defaults: client ``sandbox-<id>``,
secret ``sandbox-secret-<id>``); the same test code logs it in. Every merchant has a world of its own
(products, outbounds, stock, shipments, the creation lock, knobs, faults, request log, autopilot), built when its
first request arrives; a request acts for the merchant its bearer token belongs to (``oauth.py``), so
another merchant's outbound or product is simply not found (``404 Outbounds_OutboundNotFound``,
``Products_ProductNotFound``). Un-prefixed control calls address the default merchant ``MERC``;
``/merchants/{merchantId}/_sandbox/…`` addresses another. The OAuth knobs (``access_token_ttl_s``,
``refused_refresh``) are the default merchant's: there is one OAuth server.

Seeded network, the same for every merchant: the default merchant ``MERC``, fulfiller ``FULF``, warehouses
``FULF04XX-12345-0001`` (DHL, DPD, freight) and ``FULF04XX-12345-0002`` (DHL); shipping methods ``FULF0A0001`` (DHL), ``FULF0A0002`` (DPD),
``FULF0A0003`` (freight forwarder, no tracking URL).

Knobs (``create_app(**knobs)`` or ``PUT /_sandbox/knobs``): ``chunk_size`` (updates-feed chunk and
stocks/complete page size), ``access_token_ttl_s``, ``creation_delay_s`` (how long an outbound creation
holds the merchant's lock; concurrent creates get 423), ``error_metadata_key`` (``errorMetaData`` as the
schema names it, or ``errorMetadata`` as the examples write it), ``default_top``, ``stock_level``
(``net``: ``stockLevel`` excludes reserved and blocked stock; ``gross``: it includes them),
``max_feed_window_s`` (an updates feed answers only that much of a window; ``to`` tells how far),
``account`` (``ok``, ``missing_scope`` = bodiless 403, ``not_in_portal`` = bodiless 404),
``refused_refresh`` (``invalid_grant`` 400 or ``invalid_request`` 401 for a spent refresh token),
``clock`` (stamps every change; a ``daemon.clock.FakeClock`` lets tests move time). Create and update
bodies are checked against the spec's lengths, patterns, ranges and formats
(``400 Shared_ModelValidation``, ``sandbox/model_validation.py``).

Control API: ``GET /_sandbox/outbounds``, ``POST /_sandbox/outbounds/{id}/ship``
``{lines?: [{jfsku|merchantSku, quantity}], packages, tracking: bool|[numbers], shipping_method_id?}``,
``POST /_sandbox/outbounds/{id}/status {status, reason?}`` (the fulfiller's side),
``PUT /_sandbox/stock/{merchantSku|jfsku} {level, reserved?, blocked?, warehouse_id?}`` (level = what
can be shipped), ``PUT /_sandbox/autopilot
{ship_after_s, partial_ratio}``, ``GET /_sandbox/products``, ``GET /_sandbox/shipping-notifications``,
``PUT /_sandbox/knobs``, ``POST /_sandbox/oauth/expire-access-tokens`` (this merchant's), ``GET /_sandbox/oauth``, plus the
shared ``/_sandbox/requests``, ``/_sandbox/faults``, ``/_sandbox/reset`` (reset keeps OAuth grants).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from sandboxes.ffn import control, feeds, oauth, outbounds, products
from sandboxes.ffn.autopilot import Autopilot, background
from sandboxes.ffn.respond import FfnError, render_error
from sandboxes.ffn.seed import seed
from sandboxes.ffn.world import MERCHANT_ID, Knobs, World
from sandboxes.kit import Faults, make_app
from sandboxes.kit.tenants import Target, TenantOf, Tenants, serve_tenants

MERCHANT_PREFIX = "/merchants/"
WORLD_KEY: web.AppKey[World] = web.AppKey("ffn_world", World)
OAUTH_KEY: web.AppKey[oauth.OAuthServer] = web.AppKey("ffn_oauth", oauth.OAuthServer)

# Injected faults in the FFN error shape. The spec lists 503 without a body and no 429 at all; JTL's
# other APIs answer 429 when throttling, so the sandbox does too (a deliberate addition).
_FAULT_CODES = {
    429: ("Shared_TooManyRequests", "Too many requests"),
    503: ("Shared_ServiceUnavailable", "Server Error"),
}


def _errors_middleware(world: World) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def render(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path.startswith("/api/") and world.knobs.account != "ok":
            # The spec's troubleshooting: 403 = scopes missing, 404 = never logged into the portal.
            return web.Response(status=403 if world.knobs.account == "missing_scope" else 404)
        try:
            return await handler(request)
        except FfnError as exc:
            return render_error(world.knobs, exc)

    return render


def create_app(**knobs: Any) -> web.Application:
    """The sandbox: the default merchant ``MERC``'s app, which also serves the OAuth server and hands every
    other merchant's requests to that merchant's own app (built on first use, ``merchant_app``)."""
    settings = Knobs()
    settings.update({k: v for k, v in knobs.items() if k != "clock"})
    if "clock" in knobs:
        settings.clock = knobs["clock"]
    server = oauth.OAuthServer(knobs=settings)
    app = merchant_app(settings, server, MERCHANT_ID)
    tenants = Tenants(
        lambda merchant_id: merchant_app(dataclasses.replace(settings), server, merchant_id),
        valid=lambda merchant_id: bool(oauth.MERCHANT_ID_PATTERN.match(merchant_id)),
    )
    serve_tenants(app, tenants, _merchant_of(server))
    app.router.add_post("/token", oauth.token_handler(server))
    app.router.add_get("/authorize", oauth.authorize_handler(server))
    app.router.add_routes(control.client_routes(server))
    return app


def _merchant_of(server: oauth.OAuthServer) -> TenantOf:
    """Which merchant's app a request is for: the bearer token's merchant on ``/api/``; the path's on
    ``/merchants/{merchantId}/…`` (the control API of one merchant); None: the default merchant."""

    def of(request: web.Request) -> Target | None:
        raw = request.raw_path
        if raw.startswith(MERCHANT_PREFIX):
            merchant_id, _, inner = raw[len(MERCHANT_PREFIX) :].partition("/")
            return Target(merchant_id, "/" + inner, MERCHANT_PREFIX + merchant_id)
        if raw.startswith("/api/"):
            holder = server.merchant(oauth.bearer(request))
            if holder is not None and holder != MERCHANT_ID:
                return Target(holder, raw)
        return None

    return of


def merchant_app(settings: Knobs, server: oauth.OAuthServer, merchant_id: str) -> web.Application:
    """One merchant's FFN: its world (network, products, outbounds, stock, creation lock), knobs, faults,
    request log and control API; only tokens of ``merchant_id`` get into its ``/api/``."""
    app, kit = make_app("ffn")
    world = World(knobs=settings, merchant_id=merchant_id)
    seed(world)
    pilot = Autopilot()

    def reset() -> None:
        fresh = World(knobs=world.knobs, merchant_id=merchant_id)
        seed(fresh)
        world.__dict__.update(fresh.__dict__)
        pilot.reset()

    def fault_response(status: int, faults: Faults) -> web.Response:
        code, description = _FAULT_CODES.get(status, ("Shared_InjectedFault", f"HTTP {status}"))
        headers = {"Retry-After": str(faults.retry_after_s)} if status in (429, 503) else None
        return render_error(world.knobs, FfnError(status, code, description, description, {}), headers)

    kit.reset_hooks.append(reset)
    kit.fault_response = fault_response
    app.middlewares.append(_errors_middleware(world))
    app.middlewares.append(oauth.bearer_middleware(server, merchant_id))
    app[WORLD_KEY] = world
    app[OAUTH_KEY] = server
    # Fixed paths (…/updates, …/complete) before the parameterised ones that would swallow them.
    app.router.add_routes(feeds.routes(world))
    app.router.add_routes(feeds.setup_routes(world))
    app.router.add_routes(products.routes(world))
    app.router.add_routes(outbounds.routes(world))
    app.router.add_routes(control.routes(world, pilot, server))
    app.cleanup_ctx.append(background(world, pilot))
    return app
