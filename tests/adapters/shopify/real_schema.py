"""The real Shopify Admin GraphQL schema (2025-01 introspection) and the sandbox SDL generator.

The sandbox SDL (``adapters/shopify/sandbox/schema.graphql``) is a subset of the real schema; it is
generated from the introspection by ``python -m tests.adapters.shopify.real_schema`` so names,
arguments and types are copied, never typed by hand. ``SUBSET`` lists what the adapter uses.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import orjson

from tests.spec_files import spec_bytes

REAL_SCHEMA_FILE = "shopify/admin_schema_2025-01.json.gz"
SANDBOX_SDL_PATH = Path(__file__).resolve().parents[3] / "adapters/shopify/sandbox/schema.graphql"

_CONNECTION = ["edges", "nodes", "pageInfo"]
_EDGE = ["cursor", "node"]
_USER_ERROR = ["field", "message"]

# Object types and the fields kept. Every argument of a kept field is kept when its type is in the subset;
# a required argument whose type is missing fails generation.
SUBSET: dict[str, list[str]] = {
    "QueryRoot": [
        "orders",
        "order",
        "productVariants",
        "productVariant",
        "locations",
        "location",
        "shop",
        "job",
    ],
    "Mutation": ["fulfillmentCreate", "inventorySetQuantities", "tagsAdd", "orderUpdate", "orderCancel"],
    "Shop": ["id", "name", "currencyCode", "myshopifyDomain", "weightUnit"],
    "Job": ["id", "done"],
    "PageInfo": ["hasNextPage", "hasPreviousPage", "startCursor", "endCursor"],
    "OrderConnection": _CONNECTION,
    "OrderEdge": _EDGE,
    "Order": [
        "id",
        "legacyResourceId",
        "name",
        "createdAt",
        "updatedAt",
        "processedAt",
        "cancelledAt",
        "cancelReason",
        "closed",
        "closedAt",
        "test",
        "edited",
        "displayFinancialStatus",
        "displayFulfillmentStatus",
        "note",
        "tags",
        "email",
        "phone",
        "currencyCode",
        "paymentGatewayNames",
        "requiresShipping",
        "shippingAddress",
        "shippingLines",
        "lineItems",
        "fulfillmentOrders",
        "fulfillments",
        "totalPriceSet",
        "currentTotalPriceSet",
        "totalShippingPriceSet",
        "currentShippingPriceSet",
    ],
    "MailingAddress": [
        "id",
        "firstName",
        "lastName",
        "name",
        "company",
        "address1",
        "address2",
        "city",
        "zip",
        "province",
        "provinceCode",
        "country",
        "countryCodeV2",
        "phone",
    ],
    "ShippingLineConnection": _CONNECTION,
    "ShippingLineEdge": _EDGE,
    "ShippingLine": [
        "id",
        "title",
        "code",
        "source",
        "carrierIdentifier",
        "isRemoved",
        "originalPriceSet",
        "discountedPriceSet",
    ],
    "LineItemConnection": _CONNECTION,
    "LineItemEdge": _EDGE,
    "LineItem": [
        "id",
        "sku",
        "name",
        "title",
        "variantTitle",
        "vendor",
        "quantity",
        "currentQuantity",
        "unfulfilledQuantity",
        "requiresShipping",
        "isGiftCard",
        "variant",
        "originalUnitPriceSet",
        "discountedUnitPriceSet",
    ],
    "MoneyBag": ["shopMoney", "presentmentMoney"],
    "MoneyV2": ["amount", "currencyCode"],
    "ProductVariantConnection": _CONNECTION,
    "ProductVariantEdge": _EDGE,
    "ProductVariant": [
        "id",
        "legacyResourceId",
        "sku",
        "barcode",
        "title",
        "displayName",
        "price",
        "createdAt",
        "updatedAt",
        "inventoryItem",
        "product",
    ],
    "Product": ["id", "legacyResourceId", "title", "vendor", "status", "createdAt", "updatedAt"],
    "InventoryItem": [
        "id",
        "legacyResourceId",
        "sku",
        "tracked",
        "requiresShipping",
        "measurement",
        "countryCodeOfOrigin",
        "harmonizedSystemCode",
        "updatedAt",
    ],
    "InventoryItemMeasurement": ["id", "weight"],
    "Weight": ["unit", "value"],
    "LocationConnection": _CONNECTION,
    "LocationEdge": _EDGE,
    "Location": ["id", "legacyResourceId", "name", "isActive", "fulfillsOnlineOrders"],
    "FulfillmentOrderConnection": _CONNECTION,
    "FulfillmentOrderEdge": _EDGE,
    "FulfillmentOrder": [
        "id",
        "orderId",
        "orderName",
        "status",
        "requestStatus",
        "createdAt",
        "updatedAt",
        "assignedLocation",
        "lineItems",
    ],
    "FulfillmentOrderAssignedLocation": ["name", "location"],
    "FulfillmentOrderLineItemConnection": _CONNECTION,
    "FulfillmentOrderLineItemEdge": _EDGE,
    "FulfillmentOrderLineItem": [
        "id",
        "sku",
        "totalQuantity",
        "remainingQuantity",
        "requiresShipping",
        "inventoryItemId",
        "lineItem",
    ],
    "Fulfillment": [
        "id",
        "legacyResourceId",
        "name",
        "status",
        "createdAt",
        "updatedAt",
        "totalQuantity",
        "trackingInfo",
    ],
    "FulfillmentTrackingInfo": ["company", "number", "url"],
    "FulfillmentCreatePayload": ["fulfillment", "userErrors"],
    "UserError": _USER_ERROR,
    "InventorySetQuantitiesPayload": ["inventoryAdjustmentGroup", "userErrors"],
    "InventorySetQuantitiesUserError": ["code", *_USER_ERROR],
    "InventoryAdjustmentGroup": ["id", "createdAt", "reason", "referenceDocumentUri", "changes"],
    "InventoryChange": ["name", "delta", "quantityAfterChange", "item", "location"],
    "TagsAddPayload": ["node", "userErrors"],
    "OrderUpdatePayload": ["order", "userErrors"],
    "OrderCancelPayload": ["job", "orderCancelUserErrors"],
    "OrderCancelUserError": ["code", *_USER_ERROR],
}
INTERFACES: dict[str, list[str]] = {"Node": ["id"]}
# Input objects and the fields kept; optional fields we never send are left out (stricter than Shopify).
INPUTS: dict[str, list[str]] = {
    "FulfillmentInput": ["trackingInfo", "notifyCustomer", "lineItemsByFulfillmentOrder"],
    "FulfillmentOrderLineItemsInput": ["fulfillmentOrderId", "fulfillmentOrderLineItems"],
    "FulfillmentOrderLineItemInput": ["id", "quantity"],
    "FulfillmentTrackingInput": ["number", "url", "company", "numbers", "urls"],
    # 2025-01 shape: compareQuantity/ignoreCompareQuantity. changeFromQuantity and @idempotent arrive in 2026-01
    # and are not in the only official schema we have.
    "InventorySetQuantitiesInput": [
        "reason",
        "name",
        "referenceDocumentUri",
        "quantities",
        "ignoreCompareQuantity",
    ],
    "InventoryQuantityInput": ["inventoryItemId", "locationId", "quantity", "compareQuantity"],
    "OrderInput": ["id", "email", "note", "tags"],
}
ENUMS = [
    "OrderSortKeys",
    "ProductVariantSortKeys",
    "LocationSortKeys",
    "OrderDisplayFinancialStatus",
    "OrderDisplayFulfillmentStatus",
    "OrderCancelReason",
    "OrderCancelUserErrorCode",
    "InventorySetQuantitiesUserErrorCode",
    "FulfillmentOrderStatus",
    "FulfillmentOrderRequestStatus",
    "FulfillmentStatus",
    "WeightUnit",
    "CountryCode",
    "CurrencyCode",
    "ProductStatus",
]
SCALARS = ["DateTime", "Decimal", "Money", "URL", "UnsignedInt64"]
BUILTIN_SCALARS = {"String", "Int", "Float", "Boolean", "ID"}


@cache
def real_introspection() -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(spec_bytes(REAL_SCHEMA_FILE))["data"]
    return data


def real_types() -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in real_introspection()["__schema"]["types"]}


def type_ref(ref: dict[str, Any]) -> str:
    if ref["kind"] == "NON_NULL":
        return type_ref(ref["ofType"]) + "!"
    if ref["kind"] == "LIST":
        return "[" + type_ref(ref["ofType"]) + "]"
    name: str = ref["name"]
    return name


def _named(ref: str) -> str:
    return ref.strip("[]!")


def _default(value: str | None) -> str:
    return "" if value is None else f" = {value}"


def generate_sdl() -> str:
    types = real_types()
    known = set(SUBSET) | set(INTERFACES) | set(INPUTS) | set(ENUMS) | set(SCALARS) | BUILTIN_SCALARS
    out = [
        "# Generated from Shopify's Admin GraphQL 2025-01 introspection by\n"
        "# tests/adapters/shopify/real_schema.py; do not edit by hand.\n",
        "schema {\n  query: QueryRoot\n  mutation: Mutation\n}\n",
    ]
    for name in SCALARS:
        assert types[name]["kind"] == "SCALAR", name
        out.append(f"scalar {name}\n")
    for name in ENUMS:
        values = [v["name"] for v in types[name]["enumValues"]]
        out.append(f"enum {name} {{\n" + "".join(f"  {v}\n" for v in values) + "}\n")
    for name, fields in INTERFACES.items():
        out.append(f"interface {name} {{\n" + "".join(_field(types[name], f, known) for f in fields) + "}\n")
    for name, fields in SUBSET.items():
        real = types[name]
        impl = [i["name"] for i in real.get("interfaces") or [] if i["name"] in INTERFACES]
        head = f"type {name}" + (f" implements {' & '.join(impl)}" if impl else "")
        out.append(head + " {\n" + "".join(_field(real, f, known) for f in fields) + "}\n")
    for name, fields in INPUTS.items():
        real = types[name]
        by_name = {f["name"]: f for f in real["inputFields"]}
        for f in real["inputFields"]:
            if f["type"]["kind"] == "NON_NULL" and f["defaultValue"] is None and f["name"] not in fields:
                raise ValueError(f"{name}.{f['name']} is required and must be kept")
        lines = []
        for fname in fields:
            f = by_name[fname]
            ref = type_ref(f["type"])
            if _named(ref) not in known:
                raise ValueError(f"{name}.{fname}: type {ref} not in the subset")
            lines.append(f"  {fname}: {ref}{_default(f['defaultValue'])}\n")
        out.append(f"input {name} {{\n" + "".join(lines) + "}\n")
    return "\n".join(out)


def _field(real: dict[str, Any], fname: str, known: set[str]) -> str:
    fields = {f["name"]: f for f in real["fields"]}
    if fname not in fields:
        raise ValueError(f"{real['name']}.{fname} does not exist in the real schema")
    f = fields[fname]
    ref = type_ref(f["type"])
    if _named(ref) not in known:
        raise ValueError(f"{real['name']}.{fname}: type {ref} not in the subset")
    args = []
    for a in f["args"]:
        aref = type_ref(a["type"])
        if _named(aref) in known:
            args.append(f"{a['name']}: {aref}{_default(a['defaultValue'])}")
        elif aref.endswith("!") and a["defaultValue"] is None:
            raise ValueError(f"{real['name']}.{fname}({a['name']}) is required; add {aref} to the subset")
    arg_text = f"({', '.join(args)})" if args else ""
    return f"  {fname}{arg_text}: {ref}\n"


if __name__ == "__main__":
    SANDBOX_SDL_PATH.write_text(generate_sdl(), encoding="utf-8")
    print(f"wrote {SANDBOX_SDL_PATH}")
