"""ShopProduct -> FFN ``CreateProductRequest`` / ``UpdateProductRequest`` (only changed fields)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.ffn.mapping.common import num, same_value
from daemon.model import ShopProduct

# Fields ffn-sync owns on the FFN product; everything else (pictures, specifications…) is left alone.
_NESTED = ("identifier", "dimensions", "netRetailPrice")


def product_fields(product: ShopProduct) -> dict[str, Any]:
    """What FFN should hold for this product. None means "should be empty"."""
    fields: dict[str, Any] = {
        "name": product.name[:255],
        "merchantSku": product.sku,
        "identifier": {"ean": product.ean or None},
        "weight": num(product.weight_kg),
        "originCountry": product.origin_country.upper() if product.origin_country else None,
    }
    if product.length_m is not None and product.height_m is not None:
        fields["dimensions"] = {
            "length": num(product.length_m),
            "width": num(product.width_m),
            "height": num(product.height_m),
        }
    if product.net_price is not None and product.currency:
        fields["netRetailPrice"] = {"amount": num(product.net_price), "currency": product.currency.upper()}
    return fields


def create_product_body(product: ShopProduct) -> dict[str, Any]:
    body = {k: v for k, v in product_fields(product).items() if v is not None}
    body["identifier"] = {k: v for k, v in body["identifier"].items() if v is not None}
    return body


def product_patch(product: ShopProduct, existing: Mapping[str, Any]) -> dict[str, Any]:
    """The ``UpdateProductRequest`` that brings ``existing`` (an FFN Product) to ``product``; {} if equal."""
    patch: dict[str, Any] = {}
    for key, wanted in product_fields(product).items():
        current = existing.get(key)
        if key in _NESTED:
            current_map = current if isinstance(current, Mapping) else {}
            if any(not same_value(current_map.get(k), v) for k, v in wanted.items()):
                patch[key] = wanted
        elif not same_value(current, wanted):
            patch[key] = wanted
    return patch
