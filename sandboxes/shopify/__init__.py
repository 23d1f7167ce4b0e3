"""A faithful Shopify Admin GraphQL sandbox for ffn-sync.

Serves ``POST /admin/api/{version}/graphql.json`` by the version in the URL (``versions.py``: an
unsupported one is answered by the oldest supported version, named in ``X-Shopify-API-Version``) and
executes queries with graphql-core against that version's schema: ``schema_2026-01.graphql``, a generated
subset of Shopify's official 2026-01 schema, or ``schema_2026-04.graphql`` derived from it for 2026-04 and
later, where the 2026-04 inventory rules apply (``inventory.py``). A query Shopify would reject is rejected
here. Query cost and the leaky bucket follow Shopify's rules
(standard plan: 2000 points, restoring 100 per second, 1000 per query at most); a query that asks for more
than is available is answered ``THROTTLED`` (HTTP 200) and not executed. Every response carries
``extensions.cost``.

Test credentials
    shop:           any; base URL ``http://127.0.0.1:PORT``
    access token:   ``shpat_sandbox`` in the ``X-Shopify-Access-Token`` header (``token=`` knob)
    location id:    ``gid://shopify/Location/1000001`` (the "FFN Warehouse" location, created first)

Many shops: ``/shops/{shop}/…`` (or the Host ``{shop}.myshopify.com``) is shop ``{shop}``: its own
world, cost bucket, access token ``shpat_sandbox-{shop}``, app secret ``TEST_APP_SECRET-{shop}`` and
control API (``/shops/{shop}/_sandbox/``); un-prefixed paths on any other host are the default shop.

Knobs: ``clock`` (shared by the world and the bucket), ``token``, ``maximum_available``, ``restore_rate``,
``max_query_cost``, ``currency``, ``shop_name``, ``supported_versions``, ``access_scopes`` (what
``currentAppInstallation`` reports; default every scope ffn-sync needs).

Control API (DESIGN.md): ``POST /_sandbox/products``, ``POST /_sandbox/locations {name,
fulfillment_service}`` → ``{id}``, ``POST /_sandbox/orders`` (also ``test``: bool, ``hold``: a hold reason,
its fulfillment orders start ON_HOLD, ``scheduled``: bool; lines take a ``location``),
``PATCH /_sandbox/orders/{id}``, ``POST /_sandbox/orders/{id}/cancel``, ``POST /_sandbox/orders/{id}/hold
{reason}``, ``POST /_sandbox/orders/{id}/release``, ``POST /_sandbox/orders/{id}/move {sku, location}``,
``GET /_sandbox/orders/{id}``
(``id`` is the order gid, URL-encoded, or its number), ``GET /_sandbox/stock`` (``{sku: available}`` at the default location; placing an order commits its
quantities, a cancel gives them back), ``GET /_sandbox/cost``
(bucket status and cost accounting), ``GET/PUT /_sandbox/webhooks`` (subscriptions, delivery attempts,
fault knobs: ``webhooks.py``), plus the shared ``/_sandbox/requests``, ``/_sandbox/faults``,
``/_sandbox/reset``; bulk query operations with their knobs at ``GET/PUT /_sandbox/bulk`` (``bulk.py``;
``bulk_delay_s``, ``bulk_max_running``: None = five from 2026-01, one before; 1 = the schema text's reading). Webhook deliveries are signed with ``app_secret`` (default ``TEST_APP_SECRET``).
``GET/PUT /_sandbox/search {"lag_s": N}`` (or the ``search_lag_s`` knob): an order placed from then on is
found by an ``orders(query:)`` search only N seconds after its creation (the search index's lag; default 0).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from daemon.clock import SYSTEM_CLOCK, Clock
from sandboxes.kit import make_app
from sandboxes.kit.faults import Faults
from sandboxes.kit.kit import json_response
from sandboxes.kit.tenants import Target, Tenants, by_path_prefix, serve_tenants, shop_credential
from sandboxes.kit.webhooks import Deliveries, add_routes
from sandboxes.shopify.bulk import BulkKnobs, BulkOperations
from sandboxes.shopify.control import Control
from sandboxes.shopify.cost import LeakyBucket
from sandboxes.shopify.endpoint import MAX_QUERY_COST, GraphQLEndpoint
from sandboxes.shopify.versions import SUPPORTED_VERSIONS
from sandboxes.shopify.webhooks import DEFAULT_KNOBS, TEST_APP_SECRET, ShopifyWebhooks
from sandboxes.shopify.world import World

TEST_TOKEN = "shpat_sandbox"
DEFAULT_SHOP = "ffn-sync-sandbox"
SHOP_DOMAIN = ".myshopify.com"


class ShopifySandbox:
    """What tests reach into: the world, the bucket and the endpoint of one app."""

    def __init__(
        self,
        world: World,
        bucket: LeakyBucket,
        endpoint: GraphQLEndpoint,
        webhooks: ShopifyWebhooks,
        bulk: BulkOperations,
    ) -> None:
        self.world = world
        self.bulk = bulk
        self.bucket = bucket
        self.endpoint = endpoint
        self.webhooks = webhooks

    @property
    def location_id(self) -> str:
        return f"gid://shopify/Location/{self.world.default_location.id}"


SANDBOX_KEY: web.AppKey[ShopifySandbox] = web.AppKey("shopify_sandbox", ShopifySandbox)


def _fault_response(status: int, faults: Faults) -> web.Response:
    headers = {"Retry-After": str(faults.retry_after_s)} if status in (429, 503) else None
    return json_response(
        {"errors": "Internal error. Looks like something went wrong on our end."}
        if status >= 500
        else {"errors": f"Error {status}"},
        status=status,
        headers=headers,
    )


def create_app(**knobs: Any) -> web.Application:
    """The default shop, serving every other shop (built on its first request, ``kit/tenants.py``) under
    ``/shops/{shop}/`` or by its ``{shop}.myshopify.com`` Host, with its own world, token and app secret
    (the default ones with ``-{shop}`` appended), cost bucket, faults, log and webhooks."""
    app = shop_app(**knobs)
    default_shop = str(knobs.get("shop_name", DEFAULT_SHOP))

    def build(shop: str) -> web.Application:
        own = {
            "shop_name": shop,
            "token": shop_credential(str(knobs.get("token", TEST_TOKEN)), shop),
            "app_secret": shop_credential(str(knobs.get("app_secret", TEST_APP_SECRET)), shop),
        }
        return shop_app(**{**knobs, **own})

    def shop_of(request: web.Request) -> Target | None:
        host = (request.host or "").split(":", 1)[0].lower()
        if host.endswith(SHOP_DOMAIN) and host[: -len(SHOP_DOMAIN)] != default_shop:
            return Target(host[: -len(SHOP_DOMAIN)], request.raw_path)
        return by_path_prefix(request)

    serve_tenants(app, Tenants(build), shop_of)
    return app


def shop_app(
    *,
    clock: Clock = SYSTEM_CLOCK,
    token: str = TEST_TOKEN,
    maximum_available: float = 2000.0,
    restore_rate: float = 100.0,
    max_query_cost: int = MAX_QUERY_COST,
    currency: str = "EUR",
    shop_name: str = DEFAULT_SHOP,
    supported_versions: tuple[str, ...] = SUPPORTED_VERSIONS,
    access_scopes: tuple[str, ...] | None = None,
    app_secret: str = TEST_APP_SECRET,
    bulk_delay_s: float = BulkKnobs.delay_s,
    bulk_max_running: int | None = BulkKnobs.max_running,
    search_lag_s: float = 0.0,
    **_unused: Any,
) -> web.Application:
    app, kit = make_app("shopify")
    bucket = LeakyBucket(clock, maximum=maximum_available, restore_rate=restore_rate)
    world = World(clock, currency=currency, shop_name=shop_name, search_lag_s=search_lag_s)
    deliveries = Deliveries(clock, DEFAULT_KNOBS)
    hooks = ShopifyWebhooks(
        world, deliveries, app_secret=app_secret, shop_domain=f"{shop_name}.myshopify.com"
    )
    world.on_change = hooks.notify
    endpoint = GraphQLEndpoint(
        world,
        bucket,
        token=token,
        max_query_cost=max_query_cost,
        supported_versions=supported_versions,
        access_scopes=access_scopes,
    )
    # The subscription API lives beside the shop data; the roots resolve these fields by attribute.
    endpoint.query_root.webhookSubscriptions = hooks.webhookSubscriptions  # type: ignore[attr-defined]
    for name in ("webhookSubscriptionCreate", "webhookSubscriptionUpdate", "webhookSubscriptionDelete"):
        setattr(endpoint.mutation_root, name, getattr(hooks, name))
    bulk = BulkOperations(
        clock, endpoint.query_root, BulkKnobs(delay_s=bulk_delay_s, max_running=bulk_max_running)
    )
    endpoint.query_root.bulkOperation = bulk.bulkOperation  # type: ignore[attr-defined]
    endpoint.query_root.currentBulkOperation = bulk.currentBulkOperation  # type: ignore[attr-defined]
    endpoint.query_root.bulkOperations = bulk.bulkOperations  # type: ignore[attr-defined]
    endpoint.mutation_root.bulkOperationRunQuery = bulk.bulkOperationRunQuery  # type: ignore[attr-defined]
    endpoint.mutation_root.bulkOperationCancel = bulk.bulkOperationCancel  # type: ignore[attr-defined]
    app[SANDBOX_KEY] = ShopifySandbox(world, bucket, endpoint, hooks, bulk)
    kit.fault_response = _fault_response
    app.router.add_post("/admin/api/{version}/graphql.json", endpoint.handle)
    Control(world, bucket).routes(app)
    add_routes(app, deliveries, hooks.listing)
    bulk.routes(app)
    _search_routes(app, world)

    def reset() -> None:
        # Same objects, emptied: routes and tests keep their references.
        fresh = World(
            clock, currency=currency, shop_name=shop_name, on_change=hooks.notify, search_lag_s=search_lag_s
        )
        world.__dict__.update(fresh.__dict__)
        bucket.reset()
        hooks.reset()
        bulk.reset()

    kit.reset_hooks.append(reset)
    return app


def _search_routes(app: web.Application, world: World) -> None:
    async def get(_request: web.Request) -> web.Response:
        return json_response({"lag_s": world.search_lag_s})

    async def put(request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        lag = body.get("lag_s") if isinstance(body, dict) and set(body) == {"lag_s"} else None
        if isinstance(lag, bool) or not isinstance(lag, int | float) or lag < 0:
            return json_response({"error": 'the body must be {"lag_s": seconds >= 0}'}, status=400)
        world.search_lag_s = float(lag)
        return json_response({"lag_s": world.search_lag_s})

    app.router.add_get("/_sandbox/search", get)
    app.router.add_put("/_sandbox/search", put)


__all__ = ["SANDBOX_KEY", "TEST_APP_SECRET", "TEST_TOKEN", "ShopifySandbox", "create_app", "shop_app"]
