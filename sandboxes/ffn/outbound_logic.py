"""Outbound rules: validation on create/update, the status machine, reservations."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from sandboxes.ffn import stock
from sandboxes.ffn.model_validation import validate
from sandboxes.ffn.respond import FfnError, validation_error
from sandboxes.ffn.world import World, ts

ALL_STATUSES = (
    "Preparation",
    "Pending",
    "Acknowledged",
    "Pickprocess",
    "Locked",
    "PartiallyShipped",
    "Shipped",
    "PartiallyCanceled",
    "Canceled",
)
# Merchant edits and cancellations are refused once the fulfiller has taken the outbound over.
MERCHANT_EDITABLE = ("Preparation", "Pending")
MERCHANT_TARGETS = ("Preparation", "Pending", "Canceled")
_CLIENT_ID = re.compile(r"^[a-zA-Z0-9]{7,16}$")
_ADDRESS_FIELDS = (
    "salutation",
    "firstname",
    "lastname",
    "company",
    "street",
    "city",
    "zip",
    "country",
    "email",
    "phone",
    "extraLine",
    "extraAddressLine",
    "state",
    "mobile",
    "fax",
)
_UPDATABLE = (
    "externalNumber",
    "priority",
    "currency",
    "internalNote",
    "externalNote",
    "premiumType",
    "salesChannel",
    "attributes",
    "desiredDeliveryDate",
    "shippingMethodId",
    "shippingType",
    "shippingFee",
    "orderValue",
)


def _address(raw: Any, field: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise validation_error(f"'{field}' is required", field)
    for required in ("street", "city", "country"):
        if not raw.get(required):
            raise validation_error(f"'{field}.{required}' is required", f"{field}.{required}")
    if not raw.get("company") and not raw.get("lastname"):
        raise validation_error("One of company or lastname must be given", f"{field}.lastname")
    return {key: raw.get(key) for key in _ADDRESS_FIELDS}


def _quantity(raw: Any, item_id: str) -> Decimal:
    try:
        quantity = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        raise validation_error(f"item '{item_id}': quantity {raw!r} is not a number", "quantity") from None
    if quantity <= 0:
        raise validation_error(f"item '{item_id}': quantity must be positive", "quantity")
    return quantity


def _items(world: World, raw_items: Any, warehouse_id: str, oversale: bool) -> list[dict[str, Any]]:
    if not isinstance(raw_items, list) or not raw_items:
        raise validation_error("'items' must contain at least one item", "items")
    ids = [str(item.get("outboundItemId")) for item in raw_items]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        joined = ",".join(duplicates)
        raise FfnError(
            400,
            "Outbounds_DuplicateOutboundItemIds",
            "One or more outbound item ids are duplicates within the same outbound",
            f"Duplicate items: '{joined}'",
            {"Ids": joined},
        )
    items = []
    for raw in raw_items:
        item_id = str(raw.get("outboundItemId") or "")
        if not item_id:
            raise validation_error("'outboundItemId' is required", "outboundItemId")
        quantity = _quantity(raw.get("quantity"), item_id)
        item_type = raw.get("itemType") or "Product"
        product = None
        if item_type in ("Product", "BillOfMaterials"):
            jfsku = raw.get("jfsku")
            product = (
                world.products.get(jfsku) if jfsku else world.product_by_sku(raw.get("merchantSku") or "")
            )
            if product is None:
                key = jfsku or raw.get("merchantSku")
                raise FfnError(
                    400,
                    "Products_ProductNotFound",
                    "The product does not exist",
                    f"Product '{key}' not found",
                    {"Jfsku": str(key)},
                )
            if world.fulfiller_id not in world.authorizations.get(product["jfsku"], {}):
                raise FfnError(
                    403,
                    "Authorizations_AuthorizationNotFound",
                    "The authorization does not exist",
                    f"Authorization for fulfiller '{world.fulfiller_id}' does not exist",
                    {"MerchantId": world.merchant_id, "FulfillerId": world.fulfiller_id},
                )
            if not oversale and stock.available(world, product["jfsku"], warehouse_id) < quantity:
                raise FfnError(
                    400,
                    "Stocks_NotEnoughStock",
                    "Not enough stock available for this stock operation",
                    f"Not enough stock available: Product '{product['jfsku']}', Warehouse '{warehouse_id}'",
                    {"Jfsku": product["jfsku"], "WarehouseId": warehouse_id},
                )
        items.append(
            {
                "outboundItemId": item_id,
                "jfsku": product["jfsku"] if product else None,
                "itemType": item_type,
                "quantity": quantity,
                "quantityOpen": quantity,
                "name": raw.get("name") or (product["name"] if product else None),
                "merchantSku": product["merchantSku"] if product else raw.get("merchantSku"),
                "externalNumber": raw.get("externalNumber"),
                "price": raw.get("price"),
                "vat": raw.get("vat"),
                "billOfMaterialsId": raw.get("billOfMaterialsId"),
                "note": raw.get("note"),
            }
        )
    return items


def _check_shipping(world: World, body: dict[str, Any]) -> None:
    if body.get("shippingMethodId") and body.get("shippingType"):
        raise FfnError(
            400,
            "Outbounds_OutboundShippingMethodAndShippingTypeSet",
            "Either shippingType or shippingMethodId should be given, not both",
            "Only provide shippingType or shippingMethodId, not both",
            {},
        )
    method_id = body.get("shippingMethodId")
    if method_id and world.shipping_method(method_id) is None:
        raise FfnError(
            400,
            "ShippingMethods_ShippingMethodNotFound",
            "The shipping method with this id does not exist",
            f"Shipping method '{method_id}' not found",
            {"ShippingMethodId": method_id},
        )


def _check_warehouse(world: World, warehouse_id: Any) -> str:
    if not any(w["warehouseId"] == warehouse_id for w in world.warehouses):
        raise FfnError(
            400,
            "Warehouses_WarehouseNotFound",
            "The warehouse does not exist",
            f"Warehouse '{warehouse_id}' not found",
            {"WarehouseId": str(warehouse_id)},
        )
    return str(warehouse_id)


def create_outbound(world: World, body: dict[str, Any], oversale: bool) -> dict[str, Any]:
    validate("CreateOutboundRequest", body)
    for required in ("merchantOutboundNumber", "warehouseId", "currency", "shippingAddress", "items"):
        if body.get(required) in (None, ""):
            raise validation_error(f"'{required}' is required", required)
    number = str(body["merchantOutboundNumber"])
    outbound_id = body.get("outboundId")
    if outbound_id is not None and (
        not _CLIENT_ID.match(outbound_id) or not outbound_id.startswith(f"{world.merchant_id}02")
    ):
        raise validation_error(
            f"outboundId '{outbound_id}' must match ^[a-zA-Z0-9]{{7,16}}$ and start with "
            f"'{world.merchant_id}02'",
            "outboundId",
        )
    same_id = world.outbounds.get(outbound_id) if outbound_id is not None else None
    for existing in (*([same_id] if same_id else []), *world.outbounds_numbered(number)):
        if existing["status"] != "Canceled":
            raise FfnError(
                400,
                "Outbounds_NotCanceledOutboundExists",
                "An active (non canceled) outbound already exists for this id",
                f"Not canceled Outbound '{existing['outboundId']}' already exists",
                {"OutboundId": existing["outboundId"]},
            )
    if outbound_id in world.outbounds:
        raise FfnError(
            400,
            "Shared_DuplicateKey",
            "Duplicate key",
            f"Outbound id '{outbound_id}' was used by a canceled outbound",
            {},
        )
    warehouse_id = _check_warehouse(world, body["warehouseId"])
    _check_shipping(world, body)
    address = _address(body["shippingAddress"], "shippingAddress")
    items = _items(world, body["items"], warehouse_id, oversale)
    status = body.get("status") or "Pending"
    if status not in ("Preparation", "Pending"):
        raise validation_error("status must be Preparation or Pending", "status")
    now = ts(world.now())
    doc: dict[str, Any] = {
        "outboundId": outbound_id or world.new_outbound_id(),
        "fulfillerId": world.fulfiller_id,
        "merchantOutboundNumber": number,
        "status": status,
        "priority": body.get("priority") or 0,
        "warehouseId": warehouse_id,
        **{key: body.get(key) for key in _UPDATABLE if key != "priority"},
        "attributes": [{"attributeType": "String", **a} for a in body.get("attributes") or []],
        "shippingAddress": address,
        "cancelReasonCode": None,
        "cancelReason": None,
        "items": items,
        "attachments": [],
        # Required by the Outbound schema without a definition.
        "relatedReturns": [],
        "modificationInfo": world.modification_info(),
        "statusTimestamp": {status.lower(): now},
    }
    _drop_null_enums(doc)
    if body.get("senderAddress"):
        doc["senderAddress"] = _address(body["senderAddress"], "senderAddress")
    world.add_outbound(doc)
    stock.reserve(world, doc)
    return doc


def update_outbound(world: World, doc: dict[str, Any], body: dict[str, Any], oversale: bool) -> None:
    validate("UpdateOutboundRequest", body)
    if doc["status"] not in MERCHANT_EDITABLE:
        raise FfnError(
            403,
            "Outbounds_OutboundUpdateForbidden",
            "The outbound cannot be updated",
            "Cannot update the outbound in the current status",
            {"OutboundId": doc["outboundId"]},
        )
    merged = {**doc, **{k: v for k, v in body.items() if k in ("shippingMethodId", "shippingType")}}
    _check_shipping(world, merged)
    if "warehouseId" in body:
        _check_warehouse(world, body["warehouseId"])
    if "shippingAddress" in body:
        doc["shippingAddress"] = _address(
            {**doc["shippingAddress"], **body["shippingAddress"]}, "shippingAddress"
        )
    if "items" in body or "warehouseId" in body:
        stock.release(world, doc)
        try:
            raw_items = body.get("items", doc["items"])
            warehouse_id = body.get("warehouseId", doc["warehouseId"])
            doc["items"] = _items(world, raw_items, warehouse_id, oversale)
            doc["warehouseId"] = warehouse_id
        finally:
            stock.reserve(world, doc)
    for key in _UPDATABLE:
        if key in body:
            doc[key] = body[key]
    _drop_null_enums(doc)
    world.touch(doc)


def _drop_null_enums(doc: dict[str, Any]) -> None:
    # The spec marks these enums nullable but lists no null value; a validating reader would refuse
    # null, so absent means "not set".
    for key in ("premiumType", "shippingType"):
        if doc.get(key) is None:
            doc.pop(key, None)


def set_status(
    world: World, doc: dict[str, Any], status: str, reason: str | None, *, by_merchant: bool
) -> None:
    current = doc["status"]
    if status not in ALL_STATUSES:
        raise validation_error(f"unknown status {status!r}", "status")
    if by_merchant and (
        current not in MERCHANT_EDITABLE or status not in MERCHANT_TARGETS or status == current
    ):
        raise FfnError(
            403,
            "Outbounds_OutboundStatusChangeForbidden",
            "The outbound cannot be set to the status",
            f"Outbound transition from status '{current}' to '{status}' is not allowed",
            {"From": current, "To": status},
        )
    doc["status"] = status
    doc.setdefault("statusTimestamp", {})[status[0].lower() + status[1:]] = ts(world.now())
    if status in ("Canceled", "PartiallyCanceled"):
        doc["cancelReason"] = reason
        doc["cancelReasonCode"] = "None"
        stock.release(world, doc)
    world.touch(doc)
