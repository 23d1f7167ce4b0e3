"""Read side: world records as GraphQL-shaped values (dicts; callables for fields with arguments)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from sandboxes.shopify import search
from sandboxes.shopify.paging import connection
from sandboxes.shopify.world import (
    Fulfillment,
    FulfillmentOrder,
    FulfillmentOrderLine,
    LineItem,
    Location,
    Order,
    Variant,
    World,
    gid,
    parse_gid,
)

View = dict[str, Any]
Info = GraphQLResolveInfo[dict[str, Any]]

FULFILLMENT_ORDER_FILTERS: search.Accessors = {
    "status": lambda fo: fo.status.lower(),
    "assigned_location_id": lambda fo: str(fo.location_id),
    "id": lambda fo: str(fo.id),
}


def supported_actions(fo: FulfillmentOrder, location: Location) -> list[str]:
    """What the app may do with a fulfillment order (Shopify's ``supportedActions``).

    Only a merchant-managed location lets an app create fulfilments; a location of a fulfillment service
    (another app) takes fulfilment *requests* (since 2024-10 only the service itself fulfils).
    """
    if fo.status in ("OPEN", "IN_PROGRESS"):
        if location.fulfillment_service is not None:
            return ["REQUEST_FULFILLMENT", "HOLD", "MOVE"]
        return ["CREATE_FULFILLMENT", "REQUEST_FULFILLMENT", "HOLD", "MOVE"]
    if fo.status == "ON_HOLD":
        return ["RELEASE_HOLD", "HOLD", "MOVE"]
    if fo.status == "SCHEDULED":
        return ["MARK_AS_OPEN"]
    return []


def stamp(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def money(amount: Decimal, currency: str) -> View:
    one = {"amount": str(amount.quantize(Decimal("0.01"))), "currencyCode": currency}
    return {"shopMoney": one, "presentmentMoney": dict(one)}


def require_gid(value: str, kind: str) -> int:
    number = parse_gid(value, kind) if value.startswith("gid://") else None
    if number is None:
        raise GraphQLError(
            f"Invalid global id '{value}'", extensions={"code": "argumentLiteralsIncompatible"}
        )
    return number


def _paged(
    items: list[Any], view: Callable[[Any], View], key: Callable[[Any], tuple[Any, ...]]
) -> Callable[..., View]:
    def resolve(_info: Info, **args: Any) -> View:
        return connection(items, key=key, view=view, **args)

    return resolve


def _by_id(record: Any) -> tuple[Any, ...]:
    return (record.id,)


class Views:
    def __init__(self, world: World) -> None:
        self.world = world

    def location(self, loc: Location) -> View:
        return {
            "id": gid("Location", loc.id),
            "legacyResourceId": str(loc.id),
            "name": loc.name,
            "isActive": loc.is_active,
            "fulfillsOnlineOrders": True,
            "isFulfillmentService": loc.fulfillment_service is not None,
        }

    def variant(self, v: Variant) -> View:
        product = self.world.products[v.product_id]
        weight = None if v.weight_kg is None else {"value": float(v.weight_kg), "unit": "KILOGRAMS"}
        return {
            "id": gid("ProductVariant", v.id),
            "legacyResourceId": str(v.id),
            "sku": v.sku,
            "barcode": v.barcode,
            "title": v.title,
            "displayName": f"{product.title} - {v.title}",
            "price": str(v.price.quantize(Decimal("0.01"))),
            "createdAt": stamp(v.created_at),
            "updatedAt": stamp(v.updated_at),
            "inventoryItem": {
                "id": gid("InventoryItem", v.inventory_item_id),
                "legacyResourceId": str(v.inventory_item_id),
                "sku": v.sku,
                "tracked": v.tracked,
                "requiresShipping": v.requires_shipping,
                "measurement": {"id": gid("InventoryItemMeasurement", v.inventory_item_id), "weight": weight},
                "countryCodeOfOrigin": None,
                "harmonizedSystemCode": None,
                "updatedAt": stamp(v.updated_at),
                "inventoryLevel": lambda _info, locationId: self.inventory_level(v, locationId),
            },
            "product": {
                "id": gid("Product", product.id),
                "legacyResourceId": str(product.id),
                "title": product.title,
                "vendor": product.vendor,
                "status": product.status,
                "createdAt": stamp(product.created_at),
                "updatedAt": stamp(product.updated_at),
            },
        }

    def inventory_item(self, v: Variant) -> View:
        item: View = self.variant(v)["inventoryItem"]
        return item

    def inventory_level(self, v: Variant, location_gid: str) -> View | None:
        location = require_gid(location_gid, "Location")
        key = (v.inventory_item_id, location)
        if key not in self.world.inventory:
            return None
        available = self.world.inventory[key]
        committed = self.world.committed.get(key, 0)
        values = {"available": available, "committed": committed, "on_hand": available + committed}
        level_id = (
            f"gid://shopify/InventoryLevel/{v.inventory_item_id}?inventory_item_id={v.inventory_item_id}"
        )

        def quantities(_info: Info, names: list[str]) -> list[View]:
            return [
                {"id": gid("InventoryQuantity", v.inventory_item_id), "name": n, "quantity": values.get(n, 0)}
                for n in names
            ]

        return {"id": level_id, "quantities": quantities}

    def line_item(self, order: Order, li: LineItem) -> View:
        variant = self.world.variants.get(li.variant_id) if li.variant_id else None
        return {
            "id": gid("LineItem", li.id),
            "sku": li.sku,
            "name": li.name,
            "title": li.title,
            "variantTitle": li.variant_title,
            "vendor": None,
            "quantity": li.quantity,
            "currentQuantity": li.current_quantity,
            "unfulfilledQuantity": max(0, li.current_quantity - li.fulfilled),
            "requiresShipping": li.requires_shipping,
            "isGiftCard": False,
            "variant": (lambda _info: self.variant(variant)) if variant else None,
            "originalUnitPriceSet": money(li.price, order.currency),
            "discountedUnitPriceSet": money(li.price, order.currency),
        }

    def fulfillment_order(self, order: Order, fo: FulfillmentOrder) -> View:
        items = {li.id: li for li in order.line_items}

        def line(fl: FulfillmentOrderLine) -> View:
            li = items[fl.line_item_id]
            variant = self.world.variants.get(li.variant_id) if li.variant_id else None
            return {
                "id": gid("FulfillmentOrderLineItem", fl.id),
                "sku": li.sku,
                "totalQuantity": fl.total,
                "remainingQuantity": fl.remaining,
                "requiresShipping": li.requires_shipping,
                "inventoryItemId": gid("InventoryItem", variant.inventory_item_id) if variant else None,
                "lineItem": lambda _info: self.line_item(order, li),
            }

        location = self.world.locations[fo.location_id]
        return {
            "supportedActions": [{"action": a} for a in supported_actions(fo, location)],
            "fulfillmentHolds": [
                {"id": gid("FulfillmentHold", fo.id * 100 + i), "reason": reason, "reasonNotes": notes}
                for i, (reason, notes) in enumerate(fo.holds)
            ],
            "fulfillAt": stamp(fo.fulfill_at),
            "id": gid("FulfillmentOrder", fo.id),
            "orderId": gid("Order", order.id),
            "orderName": order.name,
            "status": fo.status,
            "requestStatus": fo.request_status,
            "createdAt": stamp(fo.created_at),
            "updatedAt": stamp(fo.updated_at),
            "assignedLocation": {"name": location.name, "location": self.location(location)},
            "lineItems": _paged(fo.lines, line, _by_id),
        }

    def fulfillment(self, f: Fulfillment) -> View:
        def tracking(_info: Info, first: int | None = None) -> list[View]:
            rows = [{"company": t.company, "number": t.number, "url": t.url} for t in f.tracking]
            return rows[:first] if first is not None else rows

        return {
            "id": gid("Fulfillment", f.id),
            "legacyResourceId": str(f.id),
            "name": f.name,
            "status": f.status,
            "createdAt": stamp(f.created_at),
            "updatedAt": stamp(f.created_at),
            "totalQuantity": f.total_quantity,
            "trackingInfo": tracking,
        }

    def order(self, o: Order) -> View:
        def fulfillments(_info: Info, first: int | None = None) -> list[View]:
            rows = [self.fulfillment(f) for f in o.fulfillments]
            return rows[:first] if first is not None else rows

        def fulfillment_orders(info: Info, **args: Any) -> View:
            displayable = args.pop("displayable", False)
            flt = search.parse(args.pop("query", None), FULFILLMENT_ORDER_FILTERS)
            fos = [
                fo
                for fo in o.fulfillment_orders
                if flt.matches(fo, FULFILLMENT_ORDER_FILTERS) and not (displayable and fo.hidden)
            ]
            return connection(fos, key=_by_id, view=lambda fo: self.fulfillment_order(o, fo), **args)

        def shipping_lines(_info: Info, includeRemovals: bool = False, **args: Any) -> View:
            def view(s: Any) -> View:
                return {
                    "id": gid("ShippingLine", s.id),
                    "title": s.title,
                    "code": s.code,
                    "source": "shopify",
                    "carrierIdentifier": None,
                    "isRemoved": False,
                    "originalPriceSet": money(s.price, o.currency),
                    "discountedPriceSet": money(s.price, o.currency),
                }

            return connection(o.shipping_lines, key=_by_id, view=view, **args)

        address = o.shipping_address
        return {
            "id": gid("Order", o.id),
            "legacyResourceId": str(o.id),
            "name": o.name,
            "createdAt": stamp(o.created_at),
            "updatedAt": stamp(o.updated_at),
            "processedAt": stamp(o.created_at),
            "cancelledAt": stamp(o.cancelled_at),
            "cancelReason": o.cancel_reason,
            "closed": o.closed_at is not None,
            "closedAt": stamp(o.closed_at),
            "test": o.test,
            "edited": o.edited,
            "displayFinancialStatus": o.financial_status,
            "displayFulfillmentStatus": o.fulfillment_status,
            "note": o.note,
            "tags": list(o.tags),
            "email": o.email,
            "phone": o.phone,
            "currencyCode": o.currency,
            "paymentGatewayNames": [o.gateway] if o.gateway else [],
            "requiresShipping": any(li.requires_shipping for li in o.line_items),
            "shippingAddress": {"id": gid("MailingAddress", o.id), **address} if address else None,
            "shippingLines": shipping_lines,
            "lineItems": _paged(o.line_items, lambda li: self.line_item(o, li), _by_id),
            "fulfillmentOrders": fulfillment_orders,
            "fulfillments": fulfillments,
            "totalPriceSet": money(o.total, o.currency),
            "currentTotalPriceSet": money(o.total, o.currency),
            "totalShippingPriceSet": money(o.shipping_total, o.currency),
            "currentShippingPriceSet": money(o.shipping_total, o.currency),
        }
