"""Merchant product endpoints: list/find, create (jfsku assignment, duplicate detection), patch, authorize."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandboxes.ffn.model_validation import validate
from sandboxes.ffn.odata import paged
from sandboxes.ffn.respond import FfnError, no_content, ok, read_json, validation_error
from sandboxes.ffn.world import World

PREFIX = "/api/v1/merchant/products"
_PATCHABLE = (
    "name",
    "merchantSku",
    "productGroup",
    "originCountry",
    "manufacturer",
    "weight",
    "netWeight",
    "note",
    "identifier",
    "dimensions",
    "attributes",
    "netRetailPrice",
    "bundles",
    "condition",
)


def _not_found(jfsku: str) -> FfnError:
    return FfnError(
        404,
        "Products_ProductNotFound",
        "The product does not exist",
        f"Product '{jfsku}' not found",
        {"Jfsku": jfsku},
    )


def new_product(world: World, body: dict[str, Any]) -> dict[str, Any]:
    for required in ("name", "merchantSku", "identifier"):
        if body.get(required) is None:
            raise validation_error(f"'{required}' is required", required)
    sku = body["merchantSku"]
    existing = world.product_by_sku(sku)
    if existing is not None:
        jfsku = existing["jfsku"]
        raise FfnError(
            400,
            "Products_DuplicateProduct",
            "The product already exists (under the same jfsku or merchantSku)",
            f"Duplicate Product with Jfsku '{jfsku}' and MerchantSku '{sku}'",
            {"MerchantSku": sku, "Jfsku": jfsku},
        )
    jfsku = world.new_jfsku()
    specs = body.get("specifications") or {}
    product = {
        "jfsku": jfsku,
        "name": body["name"],
        "merchantSku": sku,
        "pictures": [],
        "productGroup": body.get("productGroup"),
        "originCountry": body.get("originCountry"),
        "manufacturer": body.get("manufacturer"),
        "weight": body.get("weight"),
        "netWeight": body.get("netWeight"),
        "note": body.get("note"),
        "identifier": {k: v for k, v in body["identifier"].items() if v is not None},
        "specifications": {
            **{
                flag: bool(specs.get(flag, False))
                for flag in (
                    "isBatch",
                    "isDivisible",
                    "isBestBefore",
                    "isSerialNumber",
                    "isBillOfMaterials",
                    "isPackaging",
                )
            },
            "billOfMaterialsComponents": [],
        },
        "attributes": [{"attributeType": "String", **a} for a in body.get("attributes") or []],
        "bundles": body.get("bundles") or [],
        "relatedProducts": [],
        "condition": body.get("condition") or "Default",
        "modificationInfo": world.modification_info(),
        # Required by the Product schema without a definition; counts of open documents.
        "openInbounds": 0,
        "openOutbounds": 0,
    }
    if body.get("dimensions"):
        product["dimensions"] = body["dimensions"]
    if body.get("netRetailPrice"):
        product["netRetailPrice"] = body["netRetailPrice"]
    world.products[jfsku] = product
    return product


def routes(world: World) -> list[web.RouteDef]:
    async def list_products(request: web.Request) -> web.Response:
        return ok(paged(request, list(world.products.values()), world.knobs.default_top))

    async def create(request: web.Request) -> web.Response:
        body = await read_json(request)
        validate("CreateProductRequest", body)
        return ok(new_product(world, body), status=201)

    async def get_one(request: web.Request) -> web.Response:
        jfsku = request.match_info["jfsku"]
        if jfsku not in world.products:
            raise _not_found(jfsku)
        return ok(world.products[jfsku])

    async def patch(request: web.Request) -> web.Response:
        jfsku = request.match_info["jfsku"]
        product = world.products.get(jfsku)
        if product is None:
            raise _not_found(jfsku)
        body = await read_json(request)
        validate("UpdateProductRequest", body)
        new_sku = body.get("merchantSku")
        if new_sku and new_sku != product["merchantSku"] and world.product_by_sku(new_sku):
            raise FfnError(400, "Shared_DuplicateKey", "Duplicate key", f"merchantSku '{new_sku}' exists", {})
        for key in _PATCHABLE:
            if key in body:
                value = body[key]
                if isinstance(value, dict) and isinstance(product.get(key), dict):
                    product[key] = {**product[key], **value}
                else:
                    product[key] = value
        world.touch(product)
        return no_content()

    async def authorize(request: web.Request) -> web.Response:
        jfsku = request.match_info["jfsku"]
        if jfsku not in world.products:
            raise _not_found(jfsku)
        body = await read_json(request)
        fulfiller = body.get("fulfillerId")
        if fulfiller != world.fulfiller_id:
            raise FfnError(
                400,
                "Users_UserNotFound",
                "The user does not exist",
                f"User '{fulfiller}' not found",
                {"UserId": str(fulfiller)},
            )
        granted = world.authorizations.setdefault(jfsku, {})
        if fulfiller in granted:
            raise FfnError(
                400,
                "Products_ProductAlreadyAuthorized",
                "The product was already authorized to the fulfiller",
                f"Product '{jfsku}' is already authorized to fulfiller '{fulfiller}'",
                {"FulfillerId": fulfiller, "Jfsku": jfsku},
            )
        granted[fulfiller] = {"fulfillerId": fulfiller, "modificationInfo": world.modification_info()}
        return ok(granted[fulfiller], status=201)

    async def list_authorizations(request: web.Request) -> web.Response:
        jfsku = request.match_info["jfsku"]
        if jfsku not in world.products:
            raise _not_found(jfsku)
        return ok(list(world.authorizations.get(jfsku, {}).values()))

    return [
        web.get(PREFIX, list_products),
        web.post(PREFIX, create),
        web.get(PREFIX + "/{jfsku}", get_one),
        web.patch(PREFIX + "/{jfsku}", patch),
        web.post(PREFIX + "/{jfsku}/authorizations", authorize),
        web.get(PREFIX + "/{jfsku}/authorizations", list_authorizations),
    ]
