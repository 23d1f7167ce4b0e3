"""Updates feeds (time windows, chunks via absolute ``nextChunkUrl``), stock reads and ``stocks/complete``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from sandboxes.ffn.odata import int_param, paged
from sandboxes.ffn.respond import FfnError, ok, validation_error
from sandboxes.ffn.stock import stock_doc
from sandboxes.ffn.world import World, ts

MERCHANT = "/api/v1/merchant"


def _date(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if raw in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        # A '+' sent unencoded arrives as a space; answering 400 (not in the spec for this operation)
        # makes that client bug visible instead of silently shifting the window.
        raise validation_error(
            f"{name} {raw!r} is not an ISO-8601 date-time with offset (was the '+' percent-encoded?)", name
        )
    return moment


def _changed_at(doc: dict[str, Any]) -> datetime:
    info = doc["modificationInfo"]
    return datetime.fromisoformat(info.get("updatedAt") or info["createdAt"])


def _window(world: World, request: web.Request, docs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    start = _date(request, "fromDate")
    end = _date(request, "toDate") or world.now()
    if start is not None and start > end:
        raise validation_error("fromDate must not be after toDate", "fromDate")
    if start is not None and world.knobs.max_feed_window_s > 0:
        end = min(end, start + timedelta(seconds=world.knobs.max_feed_window_s))
    page = max(1, int_param(request, "page", 1))
    selected = sorted(
        (d for d in docs if (start is None or start <= _changed_at(d)) and _changed_at(d) < end),
        key=_changed_at,
    )
    size = max(1, world.knobs.chunk_size)
    chunk = selected[(page - 1) * size : page * size]
    more = len(selected) > page * size
    body: dict[str, Any] = {
        "from": ts(start) if start else ts(min((_changed_at(d) for d in selected), default=end)),
        "to": ts(end),
        "data": chunk,
        "moreDataAvailable": more,
    }
    if more:
        body["nextChunkUrl"] = str(request.url.update_query({"page": str(page + 1)}))
    return body


def routes(world: World) -> list[web.RouteDef]:
    def feed(source: Callable[[], Sequence[dict[str, Any]]]) -> Callable[[web.Request], Any]:
        async def handle(request: web.Request) -> web.Response:
            return ok(_window(world, request, source()))

        return handle

    async def complete(request: web.Request) -> web.Response:
        page = max(1, int_param(request, "page", 1))
        size = max(1, world.knobs.chunk_size)
        jfskus = sorted(world.products)
        chunk = jfskus[(page - 1) * size : page * size]
        body: dict[str, Any] = {
            "date": ts(world.now()),
            "items": [stock_doc(world, j) for j in chunk],
            "moreDataAvailable": len(jfskus) > page * size,
        }
        if body["moreDataAvailable"]:
            body["nextChunkUrl"] = str(request.url.update_query({"page": str(page + 1)}))
        return ok(body)

    async def all_stocks(request: web.Request) -> web.Response:
        docs = [stock_doc(world, j) for j in sorted(world.products)]
        return ok(paged(request, docs, world.knobs.default_top))

    async def one_stock(request: web.Request) -> web.Response:
        jfsku = request.match_info["jfsku"]
        if jfsku not in world.products:
            raise FfnError(
                404,
                "Products_ProductNotFound",
                "The product does not exist",
                f"Product '{jfsku}' not found",
                {"Jfsku": jfsku},
            )
        return ok(stock_doc(world, jfsku))

    return [
        web.get(MERCHANT + "/outbounds/updates", feed(lambda: list(world.outbounds.values()))),
        web.get(MERCHANT + "/outbounds/shipping-notifications/updates", feed(lambda: world.notifications)),
        web.get(MERCHANT + "/stocks/updates", feed(lambda: world.stock_changes)),
        web.get(MERCHANT + "/products/updates", feed(lambda: list(world.products.values()))),
        web.get(MERCHANT + "/stocks/complete", complete),
        web.get(MERCHANT + "/stocks", all_stocks),
        web.get(MERCHANT + "/stocks/{jfsku}", one_stock),
    ]


def setup_routes(world: World) -> list[web.RouteDef]:
    """Fulfillers, warehouses and shipping methods of the seeded network."""

    def listing(source: Callable[[], list[dict[str, Any]]]) -> Callable[[web.Request], Any]:
        async def handle(request: web.Request) -> web.Response:
            return ok(paged(request, source(), world.knobs.default_top))

        return handle

    def single(
        source: Callable[[], list[dict[str, Any]]], key: str, code: str, label: str
    ) -> Callable[..., Any]:
        async def handle(request: web.Request) -> web.Response:
            wanted = request.match_info["id"]
            for doc in source():
                if doc[key] == wanted:
                    return ok(doc)
            raise FfnError(
                404,
                code,
                f"The {label} with this id does not exist",
                f"{label.capitalize()} '{wanted}' not found",
                {key[0].upper() + key[1:]: wanted},
            )

        return handle

    return [
        web.get(MERCHANT + "/fulfillers", listing(lambda: world.fulfillers)),
        web.get(
            MERCHANT + "/fulfillers/{id}",
            single(lambda: world.fulfillers, "userId", "Users_UserNotFound", "user"),
        ),
        web.get(MERCHANT + "/warehouses", listing(lambda: world.warehouses)),
        web.get(
            MERCHANT + "/warehouses/{id}",
            single(lambda: world.warehouses, "warehouseId", "Warehouses_WarehouseNotFound", "warehouse"),
        ),
        web.get(MERCHANT + "/shippingmethods", listing(lambda: world.shipping_methods)),
        web.get(
            MERCHANT + "/shippingmethods/{id}",
            single(
                lambda: world.shipping_methods,
                "shippingMethodId",
                "ShippingMethods_ShippingMethodNotFound",
                "shipping method",
            ),
        ),
    ]
