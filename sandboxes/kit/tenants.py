"""One sandbox process serving many tenants (FFN merchants, shops), so a fleet runs on one set of processes.

Each tenant is a whole sandbox app of its own (world, credentials, request log, faults, rate-limit bucket,
webhooks), built by the sandbox's own ``create_app`` on the tenant's first request: a thousand tenants cost
nothing at start-up, and an idle one costs its memory only. The app ``create_app`` returns stays the
default tenant, so single-tenant use (tests reaching into ``app[...]``, un-prefixed URLs) is unchanged.

How a request names its tenant is the vendor's business (``TenantOf``): the FFN sandbox reads the bearer
token, the shop sandboxes a path prefix (a shop in a subdirectory, as WordPress and Shopware allow) or the
Shopify shop domain. The tenant app sees the request as if it were alone: the prefix is cut off its path,
and ``public_url``/``mount`` give back what the client actually called (links and signatures need it).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from yarl import URL

from sandboxes.kit.kit import json_response

TENANT_PREFIX = "/shops/"  # the shop sandboxes' path prefix: /shops/{shop}/…
# The path prefix a tenant's request was served under ("" if none).
_MOUNT_KEY: web.RequestKey[str] = web.RequestKey("sandbox_tenant_mount", str)
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
MAX_NAME = 60


@dataclass(frozen=True)
class Target:
    tenant: str
    path: str  # the raw (still encoded) path and query inside the tenant
    mount: str = ""  # the prefix cut off the path


TenantOf = Callable[[web.Request], Target | None]  # None: the request is the default tenant's
Build = Callable[[str], web.Application]


def shop_credential(default: str, shop: str) -> str:
    """A shop's own credential in a multi-shop sandbox: the default one with ``-<shop>`` appended."""
    return f"{default}-{shop}"


def valid_name(name: str) -> bool:
    """Shop handles as Shopify allows them: lowercase letters, digits and dashes."""
    return 0 < len(name) <= MAX_NAME and set(name) <= _NAME_CHARS and not name.startswith("-")


def mount(request: web.Request) -> str:
    """The path prefix this request's tenant is served under ("" for the default tenant)."""
    return request[_MOUNT_KEY] if _MOUNT_KEY in request else ""


def public_url(request: web.Request) -> URL:
    """The URL the client called (prefix included), for links the client follows and URLs it signed."""
    prefix = mount(request)
    if not prefix:
        return request.url
    return request.url.with_path(prefix + request.url.path).with_query(request.url.query)


def by_path_prefix(request: web.Request) -> Target | None:
    """``/shops/{shop}/rest`` → tenant ``shop``, path ``/rest`` (control API included)."""
    raw = request.raw_path
    if not raw.startswith(TENANT_PREFIX):
        return None
    rest = raw[len(TENANT_PREFIX) :]
    name, slash, inner = rest.partition("/")
    name = name.split("?", 1)[0]
    if not slash:
        inner = rest[len(name) :]
    return Target(name, "/" + inner if not inner.startswith("/") else inner, TENANT_PREFIX + name)


class Tenants:
    """The tenants built so far, by name; ``limit`` bounds how many a mistyped URL loop can create."""

    def __init__(
        self, build: Build, *, valid: Callable[[str], bool] = valid_name, limit: int = 20_000
    ) -> None:
        self._build = build
        self.valid = valid
        self.limit = limit
        self._apps: dict[str, web.Application] = {}
        self._ready: dict[str, asyncio.Event] = {}

    @property
    def apps(self) -> dict[str, web.Application]:
        return dict(self._apps)

    def __len__(self) -> int:
        return len(self._apps)

    async def app(self, name: str) -> web.Application:
        ready = self._ready.get(name)
        if ready is None:
            if len(self._ready) >= self.limit:
                raise web.HTTPServiceUnavailable(text=f"sandbox tenant limit ({self.limit}) reached")
            ready = self._ready[name] = asyncio.Event()
            try:
                built = self._build(name)
                built.on_startup.freeze()
                await built.startup()
                built.freeze()
            except BaseException:
                del self._ready[name]
                ready.set()
                raise
            self._apps[name] = built
            ready.set()
        else:
            await ready.wait()  # another request is starting it
        if name not in self._apps:
            return await self.app(name)
        return self._apps[name]

    async def close(self) -> None:
        for built in self._apps.values():
            await built.shutdown()
            await built.cleanup()
        self._apps.clear()
        self._ready.clear()


TENANTS_KEY: web.AppKey[Tenants] = web.AppKey("sandbox_tenants", Tenants)


def serve_tenants(app: web.Application, tenants: Tenants, tenant_of: TenantOf) -> None:
    """Route the requests ``tenant_of`` names to their tenant app, before any of ``app``'s own middleware
    (the default tenant's log and faults never see another tenant's traffic)."""

    @web.middleware
    async def dispatch(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        target = tenant_of(request)
        if target is None:
            return await handler(request)
        if not tenants.valid(target.tenant):
            return json_response({"error": f"{target.tenant!r} cannot name a tenant of this sandbox"}, 404)
        tenant = await tenants.app(target.tenant)
        inner = request.clone(rel_url=URL(target.path, encoded=True))
        inner[_MOUNT_KEY] = target.mount
        # The tenant is a complete app of its own; aiohttp has no public call for "handle this request
        # with that app" (sub-apps must be known before start-up, tenants are built lazily).
        return await tenant._handle(inner)

    async def lifetime(_app: web.Application) -> AsyncIterator[None]:
        yield
        await tenants.close()

    app[TENANTS_KEY] = tenants
    app.middlewares.insert(0, dispatch)
    app.cleanup_ctx.append(lifetime)
