"""The WooCommerce Shipment Tracking extension's REST routes (``wc-shipment-tracking/v3``).

Items live in order meta ``_wc_shipment_tracking_items``, as the extension keeps them. A link sent
with a predefined provider is ignored; custom providers keep theirs.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from aiohttp import web

from sandboxes.kit.kit import json_response
from sandboxes.woocommerce.orders import find_order, invalid_order, json_body, origin
from sandboxes.woocommerce.render import tracking_json
from sandboxes.woocommerce.responses import no_route, wc_error
from sandboxes.woocommerce.state import SETTINGS_KEY, STATE_KEY

NAMESPACE = "/wp-json/wc-shipment-tracking/v3"
META_KEY = "_wc_shipment_tracking_items"
PROVIDERS = {
    "DHL": "https://www.dhl.de/de/privatkunden/pakete-empfangen/verfolgen.html?piececode={n}",
    "DPD": "https://tracking.dpd.de/parcelstatus?query={n}",
    "UPS": "https://www.ups.com/track?tracknum={n}",
    "GLS": "https://gls-group.eu/track/{n}",
    "Hermes": "https://www.myhermes.de/empfangen/sendungsverfolgung/?suche={n}",
}


def _enabled(request: web.Request) -> bool:
    return request.app[SETTINGS_KEY].shipment_tracking


async def namespace_index(request: web.Request) -> web.Response:
    if not _enabled(request):
        return no_route()
    route = "/wc-shipment-tracking/v3/orders/(?P<order_id>[\\d]+)/shipment-trackings"
    return json_response(
        {
            "namespace": "wc-shipment-tracking/v3",
            "routes": {route: {"namespace": "wc-shipment-tracking/v3", "methods": ["GET", "POST"]}},
        }
    )


def _items(meta: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for entry in meta:
        if entry["key"] == META_KEY and isinstance(entry["value"], list):
            return list(entry["value"])
    return []


async def list_trackings(request: web.Request) -> web.Response:
    if not _enabled(request):
        return no_route()
    order = find_order(request)
    if order is None:
        return invalid_order()
    here = origin(request)
    return json_response([tracking_json(order.id, item, here) for item in _items(order.meta)])


async def create_tracking(request: web.Request) -> web.Response:
    if not _enabled(request):
        return no_route()
    order = find_order(request)
    if order is None:
        return invalid_order()
    body = await json_body(request)
    if not isinstance(body, dict) or not str(body.get("tracking_number") or "").strip():
        return wc_error(
            "rest_missing_callback_param",
            "Missing parameter(s): tracking_number",
            400,
            params=["tracking_number"],
        )
    state = request.app[STATE_KEY]
    number = str(body["tracking_number"]).strip()
    provider = str(body.get("tracking_provider") or "")
    custom = str(body.get("custom_tracking_provider") or "")
    if provider in PROVIDERS:
        link, custom = PROVIDERS[provider].format(n=quote(number)), ""
    else:
        link = str(body.get("custom_tracking_link") or "")
        custom, provider = custom or provider, ""
    item = {
        "tracking_provider": provider,
        "custom_tracking_provider": custom,
        "custom_tracking_link": link,
        "tracking_number": number,
        "date_shipped": str(body.get("date_shipped") or state.now().date().isoformat()),
        "tracking_id": uuid.uuid4().hex,
    }
    state.update_meta(order.meta, [{"key": META_KEY, "value": [*_items(order.meta), item]}])
    return json_response(tracking_json(order.id, item, origin(request)), status=201)


def add_routes(app: web.Application) -> None:
    app.router.add_get(NAMESPACE, namespace_index)
    collection = NAMESPACE + r"/orders/{order_id:\d+}/shipment-trackings"
    app.router.add_get(collection, list_trackings)
    app.router.add_post(collection, create_tracking)
