"""The shared shop control API (DESIGN.md) on top of the sandbox world, plus ``GET /_sandbox/cost``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import unquote

import orjson
from aiohttp import web

from sandboxes.kit.kit import json_response
from sandboxes.shopify import fulfillment_orders
from sandboxes.shopify.cost import LeakyBucket
from sandboxes.shopify.views import Views
from sandboxes.shopify.world import LineItem, Order, ShippingLine, World, gid, parse_gid

HOLD_REASONS = {
    "AWAITING_PAYMENT", "HIGH_RISK_OF_FRAUD", "INCORRECT_ADDRESS", "INVENTORY_OUT_OF_STOCK",
    "UNKNOWN_DELIVERY_DATE", "ONLINE_STORE_POST_PURCHASE_CROSS_SELL", "AWAITING_RETURN_ITEMS", "OTHER",
}  # fmt: skip
# Accepted address keys: the canonical names (daemon.model.Address) and Shopify's REST/GraphQL names.
_ADDRESS_KEYS = {
    "first_name": "firstName", "firstName": "firstName", "last_name": "lastName", "lastName": "lastName",
    "company": "company", "street": "address1", "address1": "address1", "extra_line": "address2",
    "address2": "address2", "zip": "zip", "city": "city", "state": "provinceCode", "province_code": "provinceCode",
    "provinceCode": "provinceCode", "province": "province", "country_code": "countryCodeV2",
    "countryCodeV2": "countryCodeV2", "country": "country", "phone": "phone",
}  # fmt: skip
_ADDRESS_FIELDS = sorted(set(_ADDRESS_KEYS.values()))


def _resolved(view: dict[str, Any]) -> dict[str, Any]:
    """A view with its argument-less lazy fields (``variant``) filled in, ready for JSON."""
    resolved: dict[str, Any] = _without_arguments(
        {k: (v(None) if callable(v) else v) for k, v in view.items()}
    )
    return resolved


def _without_arguments(value: Any) -> Any:
    """Nested fields that need GraphQL arguments (``inventoryLevel(locationId:)``) are left out."""
    if isinstance(value, dict):
        return {k: _without_arguments(v) for k, v in value.items() if not callable(v)}
    return value


class BadRequest(ValueError):
    pass


def shop_address(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    unknown = set(raw) - set(_ADDRESS_KEYS) - {"email", "name"}
    if unknown:
        raise BadRequest(f"address: unknown keys {sorted(unknown)}; use {sorted(_ADDRESS_KEYS)}")
    address: dict[str, Any] = dict.fromkeys(_ADDRESS_FIELDS)
    for key, value in raw.items():
        if key in _ADDRESS_KEYS:
            address[_ADDRESS_KEYS[key]] = value
    address["name"] = " ".join(p for p in (address["firstName"], address["lastName"]) if p) or None
    return address


def _money(value: Any, what: str) -> Decimal:
    try:
        return Decimal(str(value))
    except ArithmeticError:
        raise BadRequest(f"{what}: not a number: {value!r}") from None


def _hold_reason(text: str) -> tuple[str, str | None]:
    """A ``FulfillmentHoldReason`` value as it is; anything else is ``OTHER`` with the text as notes."""
    return (text, None) if text in HOLD_REASONS else ("OTHER", text)


class Control:
    def __init__(self, world: World, bucket: LeakyBucket) -> None:
        self.world = world
        self.bucket = bucket
        self.views = Views(world)

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/_sandbox/products", self._wrap(self.post_product))
        app.router.add_post("/_sandbox/orders", self._wrap(self.post_order))
        app.router.add_post("/_sandbox/locations", self._wrap(self.post_location))
        app.router.add_post(r"/_sandbox/orders/{id:.+}/cancel", self._wrap(self.cancel_order))
        app.router.add_post(r"/_sandbox/orders/{id:.+}/hold", self._wrap(self.hold_order))
        app.router.add_post(r"/_sandbox/orders/{id:.+}/release", self._wrap(self.release_order))
        app.router.add_post(r"/_sandbox/orders/{id:.+}/move", self._wrap(self.move_line))
        app.router.add_patch(r"/_sandbox/orders/{id:.+}", self._wrap(self.patch_order))
        app.router.add_get(r"/_sandbox/orders/{id:.+}", self._wrap(self.get_order))
        app.router.add_get("/_sandbox/stock", self._wrap(self.get_stock))
        app.router.add_get("/_sandbox/cost", self._wrap(self.get_cost))

    def _wrap(self, fn: Any) -> Any:
        async def handler(request: web.Request) -> web.Response:
            try:
                body = orjson.loads(await request.read() or b"{}") if request.method != "GET" else {}
                status, result = fn(request, body)
            except (BadRequest, orjson.JSONDecodeError, KeyError, TypeError) as exc:
                return json_response({"error": f"{type(exc).__name__}: {exc}"}, status=400)
            return json_response(result, status=status)

        return handler

    def _order(self, request: web.Request) -> Order:
        raw = unquote(request.match_info["id"])
        number = parse_gid(raw, "Order")
        order = self.world.order(number) if number is not None else None
        if order is None:
            raise web.HTTPNotFound(text=f"no order {raw}")
        return order

    # products -----------------------------------------------------------------------------------------

    def post_product(self, _request: web.Request, body: dict[str, Any]) -> tuple[int, Any]:
        variant = self.world.upsert_product(
            sku=body["sku"],
            name=body.get("name") or body["sku"],
            price=_money(body.get("price", 0), "price"),
            ean=body.get("ean"),
            weight_kg=_money(body["weight_kg"], "weight_kg") if body.get("weight_kg") is not None else None,
            variant_title=body.get("variant_title", "Default Title"),
            requires_shipping=body.get("requires_shipping", True),
        )
        if body.get("non_mutable"):
            self.world.non_mutable_items.add(variant.inventory_item_id)
        if "stock" in body:
            self.world.inventory[(variant.inventory_item_id, self.world.default_location.id)] = int(
                body["stock"]
            )
        return 201, {
            "id": gid("ProductVariant", variant.id),
            "product_id": gid("Product", variant.product_id),
            "inventory_item_id": gid("InventoryItem", variant.inventory_item_id),
            "sku": variant.sku,
        }

    def post_location(self, _request: web.Request, body: dict[str, Any]) -> tuple[int, Any]:
        """A location; with ``fulfillment_service`` it belongs to that (other) app's fulfillment service."""
        location = self.world.add_location(str(body["name"]), body.get("fulfillment_service"))
        for variant in self.world.variants.values():  # stocked everywhere, like a new location in the admin
            self.world.inventory.setdefault((variant.inventory_item_id, location.id), 0)
        return 201, {"id": gid("Location", location.id), "name": location.name}

    def get_stock(self, _request: web.Request, _body: Any) -> tuple[int, Any]:
        return 200, self.world.stock_by_sku()

    def get_cost(self, _request: web.Request, _body: Any) -> tuple[int, Any]:
        stats = self.bucket.stats
        return 200, {**self.bucket.status(), **stats.__dict__}

    # orders -------------------------------------------------------------------------------------------

    def _lines(self, lines: list[dict[str, Any]], *, digital: bool) -> list[LineItem]:
        made = []
        for i, line in enumerate(lines):
            sku = line.get("sku")
            variant = self.world.variant_by_sku(sku) if sku else None
            product = self.world.products[variant.product_id] if variant else None
            title = line.get("name") or (product.title if product else sku or "Custom item")
            qty = int(line.get("qty", line.get("quantity", 1)))
            if qty <= 0:
                raise BadRequest(f"lines[{i}].qty must be > 0")
            price = _money(line.get("price", variant.price if variant else 0), f"lines[{i}].price")
            made.append(
                LineItem(
                    id=self.world.next_id(),
                    sku=sku,
                    title=title,
                    variant_title=variant.title if variant and variant.title != "Default Title" else None,
                    quantity=qty,
                    current_quantity=qty,
                    requires_shipping=not digital and line.get("requires_shipping", True),
                    price=price,
                    variant_id=variant.id if variant else None,
                )
            )
            if line.get("location"):
                location = parse_gid(str(line["location"]), "Location")
                if location not in self.world.locations:
                    raise BadRequest(f"lines[{i}].location: unknown location {line['location']}")
                self.world.line_locations[made[-1].id] = location
        return made

    def post_order(self, _request: web.Request, body: dict[str, Any]) -> tuple[int, Any]:
        digital = body.get("digital_lines") or []
        if isinstance(digital, int):
            digital = [{"name": f"Gift card {i + 1}", "qty": 1, "price": "10.00"} for i in range(digital)]
        methods = body.get("shipping_methods") or (
            [body["shipping_method"]] if body.get("shipping_method") else []
        )
        paid = body.get("paid", True)
        status = paid.upper() if isinstance(paid, str) else ("PAID" if paid else "PENDING")
        order = self.world.new_order(
            currency=body.get("currency", self.world.currency),
            financial_status=status,
            line_items=self._lines(body.get("lines") or [], digital=False)
            + self._lines(digital, digital=True),
            shipping_lines=[
                ShippingLine(
                    self.world.next_id(),
                    m if isinstance(m, str) else m["title"],
                    m if isinstance(m, str) else m.get("code"),
                    _money("0" if isinstance(m, str) else m.get("price", 0), "shipping price"),
                )
                for m in methods
            ],
            shipping_address=shop_address(body.get("address")),
            email=body.get("email") or (body.get("address") or {}).get("email"),
            phone=body.get("phone"),
            note=body.get("note"),
            tags=list(body.get("tags") or []),
            test=bool(body.get("test", False)),
        )
        for li in order.line_items:
            self.world.commit(order, li, li.current_quantity)
        self.world.open_fulfillment_orders(order)
        if body.get("hold"):
            fulfillment_orders.hold(self.world, order, *_hold_reason(str(body["hold"])))
        elif body.get("scheduled"):
            for fo in order.fulfillment_orders:
                fo.status = "SCHEDULED"
        return 201, {"id": gid("Order", order.id), "number": str(order.number), "name": order.name}

    def patch_order(self, request: web.Request, body: dict[str, Any]) -> tuple[int, Any]:
        order = self._order(request)
        if "lines" in body:
            self._edit_lines(order, body["lines"])
        if "address" in body:
            order.shipping_address = shop_address(body["address"])
        for key in ("note", "email", "tags"):
            if key in body:
                setattr(order, key, list(body[key]) if key == "tags" else body[key])
        self.world.touch(order)
        return 200, self._vendor_json(order)

    def _edit_lines(self, order: Order, lines: list[dict[str, Any]]) -> None:
        """An order edit as Shopify does it: ``quantity`` stays, ``currentQuantity`` changes, new SKUs add lines."""
        wanted: dict[str | None, int] = {}
        for i, line in enumerate(lines):
            qty = int(line.get("qty", line.get("quantity", 1)))
            if qty < 0:
                raise BadRequest(f"lines[{i}].qty must be >= 0")
            wanted[line.get("sku")] = wanted.get(line.get("sku"), 0) + qty
        for li in order.line_items:
            if li.requires_shipping:
                new_qty = wanted.pop(li.sku, 0)
                if new_qty < li.fulfilled:
                    raise BadRequest(
                        f"line {li.sku}: {li.fulfilled} already fulfilled; cannot go to {new_qty}"
                    )
                self.world.commit(order, li, new_qty - li.current_quantity)
                li.current_quantity = new_qty
        added = self._lines(
            [line for line in lines if line.get("sku") in wanted and wanted[line.get("sku")] > 0],
            digital=False,
        )
        for li in added:
            self.world.commit(order, li, li.current_quantity)
        order.line_items.extend(added)
        order.edited = True
        self.world.open_fulfillment_orders(order)

    def hold_order(self, request: web.Request, body: dict[str, Any]) -> tuple[int, Any]:
        """A hold on the order's open fulfillment orders (fraud check, address…); ``updatedAt`` stays."""
        order = self._order(request)
        fulfillment_orders.hold(self.world, order, *_hold_reason(str(body.get("reason") or "OTHER")))
        return 200, self._vendor_json(order)

    def move_line(self, request: web.Request, body: dict[str, Any]) -> tuple[int, Any]:
        """Move a line's open units to another location ``{sku, location}``, as ``fulfillmentOrderMove``."""
        order = self._order(request)
        line = next((li for li in order.line_items if li.sku == body["sku"]), None)
        location = parse_gid(str(body["location"]), "Location")
        if line is None or location not in self.world.locations:
            raise BadRequest(f"no line {body['sku']!r} or no location {body['location']!r}")
        fulfillment_orders.move(self.world, order, line, location)
        return 200, self._vendor_json(order)

    def release_order(self, request: web.Request, _body: dict[str, Any]) -> tuple[int, Any]:
        order = self._order(request)
        fulfillment_orders.release(self.world, order)
        return 200, self._vendor_json(order)

    def cancel_order(self, request: web.Request, body: dict[str, Any]) -> tuple[int, Any]:
        order = self._order(request)
        if order.cancelled_at is None:
            self.world.cancel_order(order, reason=body.get("reason", "CUSTOMER"), refund=True)
        return 200, self._vendor_json(order)

    def get_order(self, request: web.Request, _body: Any) -> tuple[int, Any]:
        return 200, self._vendor_json(self._order(request))

    def _vendor_json(self, order: Order) -> dict[str, Any]:
        return self.views.order(order) | self._expanded(order)

    def _expanded(self, order: Order) -> dict[str, Any]:
        """The connection/list fields of the GraphQL view, fully expanded (no paging) for inspection."""
        views = self.views
        return {
            "lineItems": [_resolved(views.line_item(order, li)) for li in order.line_items],
            "shippingLines": [
                {"title": s.title, "code": s.code, "price": str(s.price)} for s in order.shipping_lines
            ],
            "fulfillmentOrders": [
                {
                    "id": gid("FulfillmentOrder", fo.id),
                    "status": fo.status,
                    "holds": [reason for reason, _ in fo.holds],
                    "location": gid("Location", fo.location_id),
                    "lineItems": [
                        {
                            "id": gid("FulfillmentOrderLineItem", x.id),
                            "lineItem": gid("LineItem", x.line_item_id),
                            "totalQuantity": x.total,
                            "remainingQuantity": x.remaining,
                        }
                        for x in fo.lines
                    ],
                }
                for fo in order.fulfillment_orders
            ],
            "fulfillments": [
                {
                    "id": gid("Fulfillment", f.id),
                    "name": f.name,
                    "status": f.status,
                    "location": gid("Location", f.location_id),
                    "notifyCustomer": f.notify_customer,
                    "trackingInfo": [
                        {"number": t.number, "company": t.company, "url": t.url} for t in f.tracking
                    ],
                    "lineItems": [
                        {"id": gid("FulfillmentOrderLineItem", li), "quantity": q} for li, q in f.lines
                    ],
                }
                for f in order.fulfillments
            ],
        }
