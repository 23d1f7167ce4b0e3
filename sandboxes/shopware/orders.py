"""Orders as a storefront checkout writes them: order, customer, addresses, one delivery, one
transaction, product line items with ``payload.productNumber``; stock is taken on placement
(Shopware ≥ 6.6 stock handling) and given back on cancellation."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandboxes.shopware import states
from sandboxes.shopware.store import Row, new_id, stable_id
from sandboxes.shopware.world import (
    DEFAULT_CURRENCY_ID,
    LANGUAGE_ID,
    ROUNDING,
    SALES_CHANNEL_ID,
    World,
    WorldError,
)

SHIPPING_COST = Decimal("4.90")


def _money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01")))


def _calculated(unit: Decimal, quantity: int) -> dict[str, Any]:
    return {
        "unitPrice": _money(unit),
        "totalPrice": _money(unit * quantity),
        "quantity": quantity,
        "calculatedTaxes": {},
        "taxRules": {},
    }


def _address(world: World, order_id: str, body: dict[str, Any]) -> Row:
    if not isinstance(body, dict):
        raise WorldError(
            "order: 'address' must be an object {first_name, last_name, street, zip, city, country_code}"
        )
    country = world.country(str(body.get("country_code") or "DE"))
    state = world.country_state(country, str(body["state"])) if body.get("state") else None
    return world.store.insert(
        "order_address",
        {
            "id": new_id(),
            "versionId": stable_id("version", "live"),
            "orderId": order_id,
            "countryId": country["id"],
            "countryStateId": state["id"] if state else None,
            "firstName": str(body.get("first_name") or "Erika"),
            "lastName": str(body.get("last_name") or "Mustermann"),
            "company": body.get("company"),
            "street": str(body.get("street") or "Musterstr. 1"),
            "additionalAddressLine1": body.get("extra_line"),
            "zipcode": body.get("zip"),
            "city": str(body.get("city") or "Berlin"),
            "phoneNumber": body.get("phone"),
            "createdAt": world.now(),
            "updatedAt": None,
        },
    )


def _payload(world: World, sku: Any, physical: bool) -> dict[str, Any]:
    payload: dict[str, Any] = {"productNumber": sku} if sku else {}
    if world.store.is_67:
        payload["productType"] = "physical" if physical else "digital"
    return payload


def _states(world: World, physical: bool) -> list[str]:
    # 6.7 deprecates the states and leaves them empty; 6.6 marks every product line.
    if world.store.is_67:
        return []
    return ["is-physical"] if physical else ["is-download"]


def _line_items(world: World, order_id: str, lines: Any, digital: Any) -> tuple[list[Row], Decimal]:
    if not isinstance(lines, list) or not (lines or digital):
        raise WorldError("order: 'lines' (or 'digital_lines') must be a non-empty list of {sku, qty, price}")
    rows: list[Row] = []
    total = Decimal(0)
    entries = [(line, True) for line in lines] + [(line, False) for line in (digital or [])]
    for position, (line, physical) in enumerate(entries, start=1):
        sku = line.get("sku")
        qty = int(line.get("qty", 1))
        if qty < 1:
            raise WorldError(f"order line {position}: qty must be >= 1, got {qty}")
        product = world.product_by_sku(sku) if sku else None
        unit = Decimal(str(line.get("price", "10.00")))
        total += unit * qty
        label = str(line.get("name") or (product or {}).get("name") or sku or "item")
        rows.append(
            world.store.insert(
                "order_line_item",
                {
                    "id": new_id(),
                    "versionId": stable_id("version", "live"),
                    "orderId": order_id,
                    "identifier": product["id"] if product else new_id(),
                    "referencedId": product["id"] if product else None,
                    "productId": product["id"] if product else None,
                    "quantity": qty,
                    "label": label,
                    "payload": _payload(world, sku, physical),
                    # A download is a good as well; 6.6 tells it by its state, 6.7 by payload.productType.
                    "good": True,
                    "removable": True,
                    "stackable": True,
                    "position": position,
                    "price": _calculated(unit, qty),
                    "unitPrice": _money(unit),
                    "totalPrice": _money(unit * qty),
                    "type": "product",
                    "states": _states(world, physical),
                    "children": [],
                    "createdAt": world.now(),
                    "updatedAt": None,
                },
            )
        )
        world.adjust_stock(sku, -qty)
    return rows, total


def create_order(world: World, body: dict[str, Any]) -> Row:
    store = world.store
    order_id = new_id()
    world.order_counter += 1
    number = str(body.get("number") or world.order_counter)
    address = _address(world, order_id, body.get("address") or {})
    _, positions = _line_items(world, order_id, body.get("lines"), body.get("digital_lines"))
    shipping = world.shipping_method(str(body.get("shipping_method") or "Standard"))
    now = world.now()
    delivery = store.insert(
        "order_delivery",
        {
            "id": new_id(),
            "versionId": stable_id("version", "live"),
            "orderId": order_id,
            "shippingOrderAddressId": address["id"],
            "shippingMethodId": shipping["id"],
            "stateId": states.state_id(states.DELIVERY, "open"),
            "trackingCodes": [],
            "shippingDateEarliest": now,
            "shippingDateLatest": now,
            "shippingCosts": _calculated(SHIPPING_COST, 1),
            "createdAt": now,
            "updatedAt": None,
        },
    )
    total = positions + SHIPPING_COST
    payment = world.payment_method("Prepayment", "payment_prepayment")
    transaction = store.insert(
        "order_transaction",
        {
            "id": new_id(),
            "versionId": stable_id("version", "live"),
            "orderId": order_id,
            "paymentMethodId": payment["id"],
            "amount": _calculated(total, 1),
            "stateId": states.state_id(states.TRANSACTION, "paid" if body.get("paid", True) else "open"),
            "createdAt": now,
            "updatedAt": None,
        },
    )
    email = str((body.get("address") or {}).get("email") or "kunde@example.com")
    store.insert(
        "order_customer",
        {
            "id": new_id(),
            "versionId": stable_id("version", "live"),
            "orderId": order_id,
            "email": email,
            "firstName": address["firstName"],
            "lastName": address["lastName"],
            "company": address.get("company"),
            "customerNumber": str(10000 + store.next_auto_increment("customer")),
            "createdAt": now,
            "updatedAt": None,
        },
    )
    order: Row = {
        "id": order_id,
        "versionId": stable_id("version", "live"),
        "autoIncrement": store.next_auto_increment("order"),
        "orderNumber": number,
        "billingAddressId": address["id"],
        "currencyId": DEFAULT_CURRENCY_ID,
        "languageId": LANGUAGE_ID,
        "salesChannelId": SALES_CHANNEL_ID,
        "orderDateTime": now,
        "price": {
            "netPrice": _money(total / Decimal("1.19")),
            "totalPrice": _money(total),
            "positionPrice": _money(positions),
            "rawTotal": _money(total),
            "taxStatus": "gross",
            "calculatedTaxes": {},
            "taxRules": {},
        },
        "amountTotal": _money(total),
        "amountNet": _money(total / Decimal("1.19")),
        "positionPrice": _money(positions),
        "taxStatus": "gross",
        "shippingCosts": _calculated(SHIPPING_COST, 1),
        "shippingTotal": _money(SHIPPING_COST),
        "currencyFactor": 1.0,
        "customerComment": body.get("note"),
        "stateId": states.state_id(states.ORDER, "open"),
        "itemRounding": ROUNDING,
        "totalRounding": ROUNDING,
        "createdAt": now,
        "updatedAt": None,
    }
    if store.is_67:
        order |= {
            "internalComment": None,
            "primaryOrderDeliveryId": delivery["id"],
            "primaryOrderDeliveryVersionId": delivery["versionId"],
            "primaryOrderTransactionId": transaction["id"],
            "primaryOrderTransactionVersionId": transaction["versionId"],
        }
    store.insert("order", order)
    for tag in body.get("tags") or []:
        store.link("order_tag", order_id, world.tag(str(tag))["id"])
    world.event("order.written", order)
    world.event("checkout.order.placed", order)
    if body.get("paid", True):
        world.event("state_enter.order_transaction.state.paid", order)
    return order


def change_order(world: World, order: Row, body: dict[str, Any]) -> None:
    """Edit lines/address (bumps ``order.updatedAt``) or payment (bumps only the transaction's)."""
    store = world.store
    unknown = set(body) - {"lines", "address", "paid", "note"}
    if unknown:
        raise WorldError(
            f"order PATCH: unknown fields {sorted(unknown)}; allowed: address, lines, note, paid"
        )
    now = world.now()
    if "lines" in body:
        for line in [r for r in store.rows("order_line_item") if r["orderId"] == order["id"]]:
            world.adjust_stock(line["payload"].get("productNumber"), int(line["quantity"]))
            del store.tables["order_line_item"][line["id"]]
        _line_items(world, order["id"], body["lines"], None)
        order["updatedAt"] = now
    if "address" in body:
        address = _address(world, order["id"], body["address"])
        for delivery in store.rows("order_delivery"):
            if delivery["orderId"] == order["id"]:
                delivery["shippingOrderAddressId"] = address["id"]
        order["updatedAt"] = now
    if "note" in body:
        order["customerComment"] = body["note"]
        order["updatedAt"] = now
    written = {"lines": "lineItems", "address": "deliveries", "note": "customerComment"}
    edited = [field for key, field in written.items() if key in body]
    if edited:
        world.event("order.written", order, [*edited, "updatedAt"])
    if body.get("paid"):
        for transaction in store.rows("order_transaction"):
            if transaction["orderId"] == order["id"] and states.technical_name(store, transaction) != "paid":
                states.apply(store, states.TRANSACTION, transaction, "paid")
                # The trap from the API notes: a payment change leaves order.updatedAt alone.
                transaction["updatedAt"] = now
                world.event("state_enter.order_transaction.state.paid", order)


def cancel_order(world: World, order: Row) -> None:
    if states.technical_name(world.store, order) == "cancelled":
        return
    states.apply(world.store, states.ORDER, order, "cancel")
    order["updatedAt"] = world.now()
    restore_stock(world, order)
    world.event("order.written", order, ["stateId", "updatedAt"])
    world.event("state_enter.order.state.cancelled", order)


def restore_stock(world: World, order: Row) -> None:
    for line in world.store.rows("order_line_item"):
        if line["orderId"] == order["id"]:
            world.adjust_stock(line["payload"].get("productNumber"), int(line["quantity"]))
