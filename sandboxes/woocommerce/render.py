"""Vendor JSON for the sandbox's entities, key for key as in the REST API docs' examples.

A few fields of current WooCommerce that the (WC 3.x era) doc samples lack are added on purpose:
``global_unique_id`` (products, variations), ``shipping.phone``, ``needs_processing`` and
``line_items[].parent_name``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandboxes.woocommerce.dates import fmt_gmt, fmt_local
from sandboxes.woocommerce.state import Note, Order, Product, Refund, ShopState

_TWO = Decimal("0.01")


def money(value: Decimal) -> str:
    return str(value.quantize(_TWO))


def links(origin: str, self_path: str, collection_path: str, up_path: str | None = None) -> dict[str, Any]:
    api = f"{origin}/wp-json"
    out: dict[str, Any] = {
        "self": [{"href": f"{api}{self_path}"}],
        "collection": [{"href": f"{api}{collection_path}"}],
    }
    if up_path is not None:
        out["up"] = [{"href": f"{api}{up_path}"}]
    return out


def _dates(prefix: str, moment: Any, state: ShopState) -> dict[str, Any]:
    return {prefix: fmt_local(moment, state.tz), f"{prefix}_gmt": fmt_gmt(moment)}


def line_item(state: ShopState, order: Order, item_index: int) -> dict[str, Any]:
    item = order.line_items[item_index]
    unit = state.products.get(item.variation_id or item.product_id)
    parent = state.products.get(item.product_id) if item.variation_id else None
    total = money(item.price * item.quantity)
    # The SKU is looked up live, as WooCommerce does: deleted products give null, edits show through.
    sku = state.effective_sku(unit) if unit is not None else None
    return {
        "id": item.id,
        "name": item.name,
        "product_id": item.product_id,
        "variation_id": item.variation_id,
        "quantity": item.quantity,
        "tax_class": "",
        "subtotal": total,
        "subtotal_tax": "0.00",
        "total": total,
        "total_tax": "0.00",
        "taxes": [],
        "meta_data": [],
        "sku": sku,
        "price": float(item.price),
        "parent_name": parent.name if parent is not None else None,
    }


def order_json(state: ShopState, order: Order, origin: str) -> dict[str, Any]:
    items_total = sum((i.price * i.quantity for i in order.line_items), Decimal(0))
    shipping_total = sum((Decimal(s.get("total", "0")) for s in order.shipping_lines), Decimal(0))
    body: dict[str, Any] = {
        "id": order.id,
        "parent_id": 0,
        "number": order.number,
        "order_key": f"wc_order_{order.id:013x}",
        "created_via": "checkout",
        "version": "9.4.0",
        "status": order.status,
        "currency": order.currency,
        **_dates("date_created", order.created, state),
        **_dates("date_modified", order.modified, state),
        "discount_total": "0.00",
        "discount_tax": "0.00",
        "shipping_total": money(shipping_total),
        "shipping_tax": "0.00",
        "cart_tax": "0.00",
        "total": money(items_total + shipping_total),
        "total_tax": "0.00",
        "prices_include_tax": False,
        "customer_id": 0,
        "customer_ip_address": "",
        "customer_user_agent": "",
        "customer_note": order.customer_note,
        "billing": dict(order.billing),
        "shipping": dict(order.shipping),
        "payment_method": order.payment_method,
        "payment_method_title": order.payment_method_title,
        "transaction_id": "",
        **_dates("date_paid", order.paid, state),
        **_dates("date_completed", order.completed, state),
        "cart_hash": "",
        "meta_data": [dict(m) for m in order.meta],
        "line_items": [line_item(state, order, i) for i in range(len(order.line_items))],
        "tax_lines": [],
        "shipping_lines": [dict(s) for s in order.shipping_lines],
        "fee_lines": [],
        "coupon_lines": [],
        "refunds": [
            {"id": r.id, "reason": r.reason, "total": "-" + money(r.amount)} for r in reversed(order.refunds)
        ],
        "needs_processing": any(i.quantity for i in order.line_items),
        "_links": links(origin, f"/wc/v3/orders/{order.id}", "/wc/v3/orders"),
    }
    return body


def refund_json(state: ShopState, order: Order, refund: Refund, origin: str) -> dict[str, Any]:
    """``GET /orders/{id}/refunds``: a refund's lines carry negative quantities and point at the
    refunded order line through the ``_refunded_item_id`` meta."""
    base = f"/wc/v3/orders/{order.id}"
    items = {item.id: index for index, item in enumerate(order.line_items)}
    lines: list[dict[str, Any]] = []
    for line in refund.lines:
        shown = line_item(state, order, items[line.item_id])
        total = "-" + money(line.price * line.quantity)
        meta_id = refund.id * 100 + len(lines)
        lines.append(
            {
                **shown,
                "id": refund.id * 1000 + len(lines),
                "quantity": -line.quantity,
                "subtotal": total,
                "total": total,
                "price": -float(line.price),
                "meta_data": [
                    {
                        "id": meta_id,
                        "key": "_refunded_item_id",
                        "value": str(line.item_id),
                        "display_key": "_refunded_item_id",
                        "display_value": str(line.item_id),
                    }
                ],
            }
        )
    return {
        "id": refund.id,
        **_dates("date_created", refund.created, state),
        "amount": money(refund.amount),
        "reason": refund.reason,
        "refunded_by": 1,
        "refunded_payment": False,
        "meta_data": [],
        "line_items": lines,
        "shipping_lines": [],
        "tax_lines": [],
        "fee_lines": [],
        "_links": links(origin, f"{base}/refunds/{refund.id}", f"{base}/refunds", base),
    }


def note_json(state: ShopState, order: Order, note: Note, origin: str) -> dict[str, Any]:
    base = f"/wc/v3/orders/{order.id}"
    return {
        "id": note.id,
        "author": note.author,
        **_dates("date_created", note.created, state),
        "note": note.note,
        "customer_note": note.customer_note,
        "_links": links(origin, f"{base}/notes/{note.id}", f"{base}/notes", base),
    }


def _stock_fields(product: Product) -> dict[str, Any]:
    quantity = product.stock_quantity if product.manage_stock else None
    in_stock = not product.manage_stock or (quantity or 0) > 0
    return {
        "manage_stock": product.manage_stock,
        "stock_quantity": quantity,
        "stock_status": "instock" if in_stock else "outofstock",
        "backorders": "no",
        "backorders_allowed": False,
        "backordered": False,
    }


def _price_fields(product: Product) -> dict[str, Any]:
    price = "" if product.type == "variable" else money(product.price)
    return {
        "price": price,
        "regular_price": price,
        "sale_price": "",
        "date_on_sale_from": None,
        "date_on_sale_from_gmt": None,
        "date_on_sale_to": None,
        "date_on_sale_to_gmt": None,
    }


def product_json(state: ShopState, product: Product, origin: str) -> dict[str, Any]:
    """The products controller's view; a variation found by ``?sku=`` is shown this way too."""
    slug = f"product-{product.id}"
    return {
        "id": product.id,
        "name": product.name,
        "slug": slug,
        "permalink": f"{origin}/product/{slug}/",
        **_dates("date_created", product.created, state),
        **_dates("date_modified", product.modified, state),
        "type": product.type,
        "status": "publish",
        "featured": False,
        "catalog_visibility": "visible",
        "description": "",
        "short_description": "",
        "sku": product.sku,
        **_price_fields(product),
        "price_html": "" if product.type == "variable" else f"<span>{money(product.price)}</span>",
        "on_sale": False,
        "purchasable": product.type != "variable",
        "total_sales": 0,
        "virtual": product.virtual,
        "downloadable": False,
        "downloads": [],
        "download_limit": -1,
        "download_expiry": -1,
        "external_url": "",
        "button_text": "",
        "tax_status": "taxable",
        "tax_class": "",
        **_stock_fields(product),
        "sold_individually": False,
        "weight": product.weight,
        "dimensions": dict(product.dimensions),
        "shipping_required": not product.virtual,
        "shipping_taxable": True,
        "shipping_class": "",
        "shipping_class_id": 0,
        "reviews_allowed": True,
        "average_rating": "0.00",
        "rating_count": 0,
        "related_ids": [],
        "upsell_ids": [],
        "cross_sell_ids": [],
        "parent_id": product.parent_id,
        "purchase_note": "",
        "categories": [],
        "tags": [],
        "images": [],
        "attributes": [],
        "default_attributes": [],
        "variations": list(product.variation_ids),
        "grouped_products": [],
        "menu_order": 0,
        "meta_data": [dict(m) for m in product.meta],
        "global_unique_id": product.global_unique_id,
        "_links": links(origin, f"/wc/v3/products/{product.id}", "/wc/v3/products"),
    }


def variation_json(state: ShopState, variation: Product, origin: str) -> dict[str, Any]:
    parent_path = f"/wc/v3/products/{variation.parent_id}"
    return {
        "id": variation.id,
        **_dates("date_created", variation.created, state),
        **_dates("date_modified", variation.modified, state),
        "description": "",
        "permalink": f"{origin}/product/product-{variation.parent_id}/?attribute_option={variation.option}",
        "sku": variation.sku,
        **_price_fields(variation),
        "on_sale": False,
        "status": "publish",
        "purchasable": True,
        "virtual": variation.virtual,
        "downloadable": False,
        "downloads": [],
        "download_limit": -1,
        "download_expiry": -1,
        "tax_status": "taxable",
        "tax_class": "",
        **_stock_fields(variation),
        "weight": variation.weight,
        "dimensions": dict(variation.dimensions),
        "shipping_class": "",
        "shipping_class_id": 0,
        "image": None,
        "attributes": [{"id": 0, "name": "Option", "option": variation.option}] if variation.option else [],
        "menu_order": 0,
        "meta_data": [dict(m) for m in variation.meta],
        "global_unique_id": variation.global_unique_id,
        "_links": links(
            origin, f"{parent_path}/variations/{variation.id}", f"{parent_path}/variations", parent_path
        ),
    }


def tracking_json(order_id: int, item: dict[str, Any], origin: str) -> dict[str, Any]:
    """The Shipment Tracking extension's item (its REST docs; no official sample is stored)."""
    base = f"/wc-shipment-tracking/v3/orders/{order_id}/shipment-trackings"
    return {
        "tracking_id": item["tracking_id"],
        "tracking_provider": item["tracking_provider"] or item["custom_tracking_provider"],
        "tracking_link": item["custom_tracking_link"],
        "tracking_number": item["tracking_number"],
        "date_shipped": item["date_shipped"],
        "_links": links(origin, f"{base}/{item['tracking_id']}", base, f"/wc/v3/orders/{order_id}"),
    }
