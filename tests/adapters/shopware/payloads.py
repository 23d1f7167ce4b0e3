"""Admin API JSON (``Accept: application/json``) shaped after the spec's Order/Product schemas."""

from __future__ import annotations

from typing import Any

ROUNDING = {"decimals": 2, "interval": 0.01, "roundForNet": True}


def hexid(n: int) -> str:
    return f"{n:032x}"


def state(name: str, n: int) -> dict[str, Any]:
    return {"id": hexid(900 + n), "technicalName": name, "name": name.title(), "stateMachineId": hexid(999)}


def address(n: int, **over: Any) -> dict[str, Any]:
    return {
        "id": hexid(300 + n),
        "countryId": hexid(400),
        "orderId": hexid(1),
        "firstName": "Erika",
        "lastName": "Mustermann",
        "street": "Hauptstr. 5",
        "zipcode": "80331",
        "city": "München",
        "company": "ACME",
        "department": "Einkauf",
        "additionalAddressLine1": "Hinterhaus",
        "phoneNumber": "+49 89 1234",
        "country": {"id": hexid(400), "name": "Germany", "iso": "de", "addressFormat": {}},
        "countryState": {"id": hexid(401), "countryId": hexid(400), "shortCode": "DE-BY", "name": "Bayern"},
        **over,
    }


def delivery(n: int, cost: float, state_name: str = "open", **over: Any) -> dict[str, Any]:
    return {
        "id": hexid(200 + n),
        "orderId": hexid(1),
        "shippingOrderAddressId": hexid(300 + n),
        "shippingMethodId": hexid(500 + n),
        "stateId": hexid(910),
        "trackingCodes": [],
        "shippingDateEarliest": "2026-03-02T09:00:00.000+00:00",
        "shippingDateLatest": "2026-03-04T09:00:00.000+00:00",
        "shippingCosts": {"unitPrice": cost, "totalPrice": cost, "quantity": 1},
        "createdAt": "2026-03-02T09:00:00.000+00:00",
        "stateMachineState": state(state_name, 10 + n),
        "shippingOrderAddress": address(n),
        "shippingMethod": {
            "id": hexid(500 + n),
            "name": f"Method {n}",
            "technicalName": f"method_{n}",
            "deliveryTimeId": hexid(600),
            "translated": {"name": f"Method {n} (de)"},
        },
        **over,
    }


def transaction(n: int, state_name: str, created: str, **over: Any) -> dict[str, Any]:
    return {
        "id": hexid(700 + n),
        "orderId": hexid(1),
        "paymentMethodId": hexid(800),
        "amount": {"unitPrice": 30.0, "totalPrice": 30.0, "quantity": 1},
        "stateId": hexid(920 + n),
        "createdAt": created,
        "stateMachineState": state(state_name, 20 + n),
        "paymentMethod": {"id": hexid(800), "name": "Vorkasse", "technicalName": "payment_prepayment"},
        **over,
    }


def line(n: int, sku: str | None, qty: int, kind: str = "product", **over: Any) -> dict[str, Any]:
    return {
        "id": hexid(100 + n),
        "orderId": hexid(1),
        "identifier": hexid(100 + n),
        "productId": hexid(50 + n),
        "quantity": qty,
        "label": f"Article {sku}",
        "payload": {"productNumber": sku} if sku else {},
        "good": True,
        "position": n,
        "price": {"unitPrice": 12.5, "totalPrice": 12.5 * qty, "quantity": qty},
        "unitPrice": 12.5,
        "totalPrice": 12.5 * qty,
        "type": kind,
        "states": [],
        "children": [],
        **over,
    }


def order(**over: Any) -> dict[str, Any]:
    return {
        "id": hexid(1),
        "autoIncrement": 7,
        "orderNumber": "10042",
        "billingAddressId": hexid(300),
        "currencyId": hexid(2),
        "languageId": hexid(3),
        "salesChannelId": hexid(4),
        "orderDateTime": "2026-03-02T09:00:00.000+00:00",
        "amountTotal": 54.9,
        "shippingTotal": 4.9,
        "currencyFactor": 1.0,
        "stateId": hexid(930),
        "itemRounding": ROUNDING,
        "totalRounding": ROUNDING,
        "customerComment": "Bitte klingeln",
        "createdAt": "2026-03-02T09:00:00.000+00:00",
        "stateMachineState": state("open", 30),
        "currency": {
            "id": hexid(2),
            "factor": 1.0,
            "symbol": "€",
            "isoCode": "EUR",
            "shortName": "EUR",
            "name": "Euro",
            "itemRounding": ROUNDING,
            "totalRounding": ROUNDING,
        },
        "orderCustomer": {
            "id": hexid(5),
            "orderId": hexid(1),
            "email": "erika@example.com",
            "firstName": "Erika",
            "lastName": "Mustermann",
        },
        "deliveries": [delivery(1, 4.9)],
        "transactions": [transaction(1, "paid", "2026-03-02T09:00:00.000+00:00")],
        "lineItems": [line(1, "SKU-1", 2), line(2, "SKU-2", 1)],
        "tags": [{"id": hexid(6), "name": "vip"}],
        **over,
    }


def product(n: int, **over: Any) -> dict[str, Any]:
    return {
        "id": hexid(50 + n),
        "productNumber": f"SKU-{n}",
        "autoIncrement": n,
        "taxId": hexid(7),
        "price": [
            {"currencyId": "b7d2554b0ce847cd82f3ac9bd1c0dfca", "gross": 11.9, "net": 10.0, "linked": True}
        ],
        "stock": 5,
        "name": f"Article {n}",
        "translated": {"name": f"Artikel {n}"},
        "ean": "4006381333931",
        "weight": 0.25,
        "width": 100.0,
        "height": 50.0,
        "length": 200.0,
        "childCount": 0,
        "createdAt": "2026-03-01T09:00:00.000+00:00",
        "updatedAt": "2026-03-02T10:00:00.000+00:00",
        **over,
    }
