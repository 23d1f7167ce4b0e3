"""Pure mappings between canonical records and FFN Merchant API JSON (no I/O)."""

from adapters.ffn.mapping.common import dec, fmt_dt, num, odata_quote, parse_dt
from adapters.ffn.mapping.feeds import (
    Carrier,
    carrier_from,
    shipment_from,
    stock_level_from_change,
    stock_level_from_stock,
    tracking_numbers,
)
from adapters.ffn.mapping.outbounds import (
    address_body,
    create_outbound_body,
    fulfiller_status,
    update_outbound_body,
)
from adapters.ffn.mapping.products import create_product_body, product_fields, product_patch

__all__ = [
    "Carrier",
    "address_body",
    "carrier_from",
    "create_outbound_body",
    "create_product_body",
    "dec",
    "fmt_dt",
    "fulfiller_status",
    "num",
    "odata_quote",
    "parse_dt",
    "product_fields",
    "product_patch",
    "shipment_from",
    "stock_level_from_change",
    "stock_level_from_stock",
    "tracking_numbers",
    "update_outbound_body",
]
