"""The seeded network: one fulfiller, two warehouses, three shipping methods (values from the spec's examples)."""

from __future__ import annotations

from typing import Any

from sandboxes.ffn.world import SECOND_WAREHOUSE_ID, WAREHOUSE_ID, World

DHL = "FULF0A0001"
DPD = "FULF0A0002"
FREIGHT = "FULF0A0003"

_WAREHOUSE_ADDRESS = {
    "company": "Fulfillment GmbH",
    "street": "Rheinstraße 7",
    "city": "Hückelhoven",
    "zip": "41836",
    "country": "DE",
}


def seed(world: World) -> None:
    info = world.modification_info()
    fid = world.fulfiller_id
    world.fulfillers = [
        {"userId": fid, "isActive": True, "address": dict(_WAREHOUSE_ADDRESS), "modificationInfo": info}
    ]
    world.shipping_methods = [
        _method(
            DHL,
            "DHL package",
            fid,
            "Standard",
            "DHL",
            "DHL service",
            "http://nolp.dhl.de/nextt-online-public/set_identcodes.do?lang=de&idc=#TrackingId#",
            info,
        ),
        _method(
            DPD,
            "DPD Classic",
            fid,
            "Standard",
            "DPD",
            "DPD",
            "https://tracking.dpd.de/status/de_DE/parcel/#TrackingId#",
            info,
        ),
        # Freight forwarders hand out no parcel tracking numbers.
        _method(FREIGHT, "Spedition", fid, "Standard", "Spedition Müller", None, None, info),
    ]
    world.warehouses = [
        {
            "warehouseId": WAREHOUSE_ID,
            "fulfillerId": fid,
            "name": "Lager Hückelhoven",
            "address": dict(_WAREHOUSE_ADDRESS),
            "shippingMethodIds": [DHL, DPD, FREIGHT],
            "modificationInfo": info,
        },
        {
            "warehouseId": SECOND_WAREHOUSE_ID,
            "fulfillerId": fid,
            "name": "Lager Köln",
            "address": {**_WAREHOUSE_ADDRESS, "city": "Köln", "zip": "50667"},
            "shippingMethodIds": [DHL],
            "modificationInfo": info,
        },
    ]


def _method(
    method_id: str,
    name: str,
    fulfiller_id: str,
    shipping_type: str,
    carrier_name: str,
    carrier_code: str | None,
    tracking_url_schema: str | None,
    info: dict[str, Any],
) -> dict[str, Any]:
    return {
        "shippingMethodId": method_id,
        "name": name,
        "fulfillerId": fulfiller_id,
        "shippingType": shipping_type,
        "trackingUrlSchema": tracking_url_schema,
        "carrierCode": carrier_code,
        "carrierName": carrier_name,
        "cutoffTime": "14:00",
        "note": None,
        "modificationInfo": info,
    }
