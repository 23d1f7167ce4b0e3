"""The sandbox moves managed stock as wc-stock-functions.php does, so stock races can be seen in tests."""

from __future__ import annotations

from tests.adapters.woocommerce.conftest import Shop


async def _stock(shop: Shop) -> dict[str, int | None]:
    result: dict[str, int | None] = await shop.call("GET", "/_sandbox/stock")
    return result


async def test_checkout_payment_cancel_and_refunds_move_stock(shop: Shop) -> None:
    await shop.product("MUG", stock=10)
    await shop.product("CAP", stock=5)
    paid = await shop.order([("MUG", 2), ("CAP", 1)])  # processing: taken at checkout
    assert await _stock(shop) == {"MUG": 8, "CAP": 4}
    unpaid = await shop.order([("MUG", 3)], paid=False)  # pending: nothing taken yet
    assert (await _stock(shop))["MUG"] == 8
    await shop.call("PATCH", f"/_sandbox/orders/{unpaid['id']}", {"status": "on-hold"})  # bank transfer
    assert (await _stock(shop))["MUG"] == 5
    await shop.call("PATCH", f"/_sandbox/orders/{unpaid['id']}", {"status": "processing"})  # no second take
    assert (await _stock(shop))["MUG"] == 5
    await shop.call("POST", f"/_sandbox/orders/{unpaid['id']}/cancel")
    assert (await _stock(shop))["MUG"] == 8

    # A refund without restock keeps the stock out; with restock it comes back.
    await shop.call("POST", f"/_sandbox/orders/{paid['id']}/refund", {"lines": [{"sku": "MUG", "qty": 1}]})
    assert (await _stock(shop))["MUG"] == 8
    refund = await shop.call(
        "POST",
        f"/_sandbox/orders/{paid['id']}/refund",
        {"lines": [{"sku": "CAP", "qty": 1}], "restock": True},
    )
    assert (await _stock(shop))["CAP"] == 5 and refund["status"] == "processing"
    shown = await shop.vendor("GET", f"/wc/v3/orders/{paid['id']}")
    assert [r["total"] for r in shown["refunds"]] == ["-10.00", "-10.00"]
    assert [li["quantity"] for li in shown["line_items"]] == [2, 1]  # refunds are separate records
    refunds = await shop.vendor("GET", f"/wc/v3/orders/{paid['id']}/refunds")
    assert sorted((li["quantity"], li["meta_data"][0]["key"]) for r in refunds for li in r["line_items"]) == [
        (-1, "_refunded_item_id"),
        (-1, "_refunded_item_id"),
    ]
    # Refunding the rest makes the order refunded; cancelling then gives back what it still holds.
    last = await shop.call(
        "POST", f"/_sandbox/orders/{paid['id']}/refund", {"lines": [{"sku": "MUG", "qty": 1}]}
    )
    assert last["status"] == "refunded"


async def test_the_trash_and_failed_keep_stock_and_trash_is_listed_only_when_asked(shop: Shop) -> None:
    await shop.product("MUG", stock=10)
    order = await shop.order([("MUG", 2)])
    await shop.vendor("DELETE", f"/wc/v3/orders/{order['id']}")
    assert (await _stock(shop))["MUG"] == 8  # no stock hook runs on trashing
    assert await shop.vendor("GET", "/wc/v3/orders") == []
    # As WooCommerce's prepare_objects_query: "any" replaces the statuses named with it, trash included.
    assert await shop.vendor("GET", "/wc/v3/orders", status="any,trash") == []
    assert await shop.vendor("GET", "/wc/v3/orders", status="trash,any") == []
    listed = await shop.vendor("GET", "/wc/v3/orders", status="trash")
    assert [o["status"] for o in listed] == ["trash"]
    listed = await shop.vendor("GET", "/wc/v3/orders", status="processing,trash")
    assert [o["status"] for o in listed] == ["trash"]


async def test_units_are_the_shops_settings(shop: Shop) -> None:
    assert (await shop.vendor("GET", "/wc/v3/settings/products/woocommerce_weight_unit"))["value"] == "kg"
    await shop.call("PUT", "/_sandbox/settings", {"weight_unit": "g", "dimension_unit": "mm"})
    weight = await shop.vendor("GET", "/wc/v3/settings/products/woocommerce_weight_unit")
    assert (weight["value"], sorted(weight["options"])) == ("g", ["g", "kg", "lbs", "oz"])
    dimension = await shop.vendor("GET", "/wc/v3/settings/products/woocommerce_dimension_unit")
    assert dimension["value"] == "mm"
