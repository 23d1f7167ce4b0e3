"""``/wc/v3/settings/products/{option}`` for the two unit options, and ``PUT /_sandbox/settings``."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandboxes.kit.kit import json_response
from sandboxes.woocommerce.orders import json_body
from sandboxes.woocommerce.responses import wc_error
from sandboxes.woocommerce.state import SETTINGS_KEY, Settings

WEIGHT_UNITS = ("kg", "g", "lbs", "oz")
DIMENSION_UNITS = ("m", "cm", "mm", "in", "yd")
_OPTIONS: dict[str, tuple[str, str, tuple[str, ...], str]] = {
    # option id: (label, description, choices, default) as WC_Settings_Products declares them
    "woocommerce_weight_unit": (
        "Weight unit",
        "This controls what unit you will define weights in.",
        WEIGHT_UNITS,
        "kg",
    ),
    "woocommerce_dimension_unit": (
        "Dimensions unit",
        "This controls what unit you will define lengths in.",
        DIMENSION_UNITS,
        "cm",
    ),
}


def _value(settings: Settings, option: str) -> str:
    return settings.weight_unit if option == "woocommerce_weight_unit" else settings.dimension_unit


def setting_json(settings: Settings, option: str) -> dict[str, Any]:
    label, description, choices, default = _OPTIONS[option]
    return {
        "id": option,
        "label": label,
        "description": description,
        "type": "select",
        "default": default,
        "options": {choice: choice for choice in choices},
        "tip": description,
        "value": _value(settings, option),
        "group_id": "products",
    }


async def get_setting(request: web.Request) -> web.Response:
    option = request.match_info["option"]
    if option not in _OPTIONS:
        return wc_error("rest_setting_setting_invalid", "Invalid setting.", 404)
    return json_response(setting_json(request.app[SETTINGS_KEY], option))


async def put_settings(request: web.Request) -> web.Response:
    body = await json_body(request)
    settings = request.app[SETTINGS_KEY]
    if not isinstance(body, dict):
        return json_response({"error": "body must be an object"}, status=400)
    weight = body.get("weight_unit", settings.weight_unit)
    dimension = body.get("dimension_unit", settings.dimension_unit)
    if weight not in WEIGHT_UNITS or dimension not in DIMENSION_UNITS:
        return json_response(
            {"error": f"weight_unit must be one of {WEIGHT_UNITS}, dimension_unit one of {DIMENSION_UNITS}"},
            status=400,
        )
    settings.weight_unit, settings.dimension_unit = weight, dimension
    return json_response({"weight_unit": weight, "dimension_unit": dimension})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/wp-json/wc/v3/settings/products/{option}", get_setting)
    app.router.add_put("/_sandbox/settings", put_settings)
