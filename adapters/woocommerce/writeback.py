"""Shipments and fulfiller statuses written back to WooCommerce orders, exactly once.

State that must survive restarts lives on the order itself, in meta the merchant never edits:
applied shipment ids, shipped quantities per line, the tracking list (notes fallback) and the last
applied fulfiller status. Every remote write is repeat-safe: trackings and notes are compared with
what the order already shows before posting, and the final order update (meta + status) carries
absolute values. Tracking is written before ``completed`` so the "completed" e-mail can show it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Literal

from loguru import logger

from adapters.woocommerce import mapping
from adapters.woocommerce.catalog import API, Catalog
from adapters.woocommerce.errors import decode
from daemon.errors import ManualActionNeeded, RecordError
from daemon.http import HttpClient
from daemon.model import FulfillerStatus, OrderRef, OutboundStatus, Shipment

TrackingMode = Literal["auto", "shipment-tracking", "notes"]
APPLIED_KEY = "_ffn_applied_shipments"
SHIPPED_KEY = "_ffn_shipped_quantities"
TRACKING_KEY = "_ffn_tracking"
STATUS_KEY = "_ffn_fulfiller_status"
TRACKING_NAMESPACE = "wc-shipment-tracking/v3"
FINAL_STATUSES = frozenset({"completed", "cancelled", "refunded", "trash", "failed"})
# A trashed order is a cancelled one that was also binned; a refunded one had its money returned.
CANCELLED_STATUSES = frozenset({"cancelled", "refunded", "trash"})
REFLECTED_STATUSES = frozenset({OutboundStatus.CANCELED, OutboundStatus.PARTIALLY_CANCELED})


class OrderWriter:
    def __init__(
        self, http: HttpClient, catalog: Catalog, *, tracking: TrackingMode, status_tag: str
    ) -> None:
        self._http = http
        self._catalog = catalog
        self._tracking = tracking
        self._status_tag = status_tag
        self._extension: bool | None = {"auto": None, "shipment-tracking": True, "notes": False}[tracking]
        # Shipments are written side by side: the first ones would otherwise each send the probe.
        self._probing = asyncio.Lock()

    async def has_tracking_extension(self) -> bool:
        """Probed once: the extension's namespace index answers 200, or WordPress says 404."""
        if self._extension is not None:
            return self._extension
        async with self._probing:
            if self._extension is not None:
                return self._extension
            response = await self._http.request("GET", TRACKING_NAMESPACE, ok=(200, 404))
            self._extension = response.status == 200 and isinstance(
                decode(response, dict, "GET shipment tracking namespace"), dict
            )
            logger.info(
                "woocommerce tracking via "
                + ("the Shipment Tracking extension" if self._extension else "order meta and customer notes")
            )
            return self._extension

    async def fetch_order(self, order_id: str) -> dict[str, Any] | None:
        response = await self._http.request("GET", f"{API}/orders/{order_id}", ok=(200, 404))
        if response.status == 404:
            return None
        data: dict[str, Any] = decode(response, dict, f"GET order {order_id}")
        return data

    async def _require(self, order: OrderRef) -> dict[str, Any]:
        data = await self.fetch_order(order.order_id)
        if data is None:
            raise RecordError(
                f"WooCommerce order {order.number} (id {order.order_id}) no longer exists; "
                "nothing can be written back to it",
                upstream="woocommerce",
                status=404,
            )
        return data

    async def apply_shipment(self, order: OrderRef, shipment: Shipment) -> None:
        data = await self._require(order)
        meta = data.get("meta_data")
        applied = [str(s) for s in mapping.meta_value(meta, APPLIED_KEY) or []]
        if shipment.shipment_id in applied:
            logger.debug(f"shipment {shipment.shipment_id} already on order {order.number}; nothing to do")
            return
        if data.get("status") in CANCELLED_STATUSES:
            # The fulfiller shipped goods the shop no longer expects to ship (and may have refunded):
            # no tracking is written, an operator has to sort out the parcel and the money.
            raise ManualActionNeeded(
                f"shipment {shipment.shipment_id} for WooCommerce order {order.number} (id {order.order_id}): "
                f"the order is {data.get('status')} in the shop; tracking not written, "
                "check the parcel and the payment by hand",
                upstream="woocommerce",
            )
        items = [i for i in data.get("line_items") or [] if isinstance(i, dict)]
        await self._catalog.ensure_units(items)
        shipped_before = mapping.meta_value(meta, SHIPPED_KEY)
        shipped = mapping.shipped_quantities(
            items,
            shipped_before if isinstance(shipped_before, dict) else {},
            [(line.line_id, line.sku, int(line.quantity)) for line in shipment.lines],
        )
        complete = shipment.outbound_status == OutboundStatus.SHIPPED or mapping.fully_shipped(
            items, shipped, self._catalog.virtual
        )
        parcels = [(t.number, t.carrier, t.url) for t in shipment.trackings if t.number]
        updates: list[dict[str, Any]] = [
            _meta(meta, APPLIED_KEY, [*applied, shipment.shipment_id]),
            _meta(meta, SHIPPED_KEY, shipped),
        ]
        if await self.has_tracking_extension():
            await self._post_trackings(order, shipment, parcels)
        else:
            listed = mapping.meta_value(meta, TRACKING_KEY)
            known = listed if isinstance(listed, list) else []
            fresh = [
                {"number": n, "carrier": c, "url": u, "shipment_id": shipment.shipment_id}
                for n, c, u in parcels
            ]
            updates.append(_meta(meta, TRACKING_KEY, [*known, *fresh]))
            text = mapping.shipment_note(parcels, complete=complete)
            # Numbered from the second shipment on, so a later parcel's note is not taken for a repeat.
            text = f"Shipment {len(applied) + 1}: {text}" if applied else text
            await self._note_once(order, text, customer=True)
        body: dict[str, Any] = {"meta_data": updates}
        if complete and data.get("status") not in FINAL_STATUSES:
            body["status"] = "completed"
        await self._update(order, body)
        logger.info(
            f"shipment {shipment.shipment_id} written to order {order.number}: "
            f"{len(parcels)} tracking number(s){', completed' if 'status' in body else ''}"
        )

    async def _post_trackings(
        self,
        order: OrderRef,
        shipment: Shipment,
        parcels: Sequence[tuple[str | None, str | None, str | None]],
    ) -> None:
        path = f"{TRACKING_NAMESPACE}/orders/{order.order_id}/shipment-trackings"
        existing = decode(await self._http.request("GET", path), list, f"GET {path}")
        numbers = {str(t.get("tracking_number")) for t in existing if isinstance(t, dict)}
        for number, carrier, url in parcels:
            if number is None or number in numbers:
                continue
            payload = mapping.tracking_payload(number, carrier, url, shipment.shipped_at)
            await self._http.request("POST", path, json=payload, ok=(200, 201))
            numbers.add(number)

    async def apply_order_status(
        self, order: OrderRef, status: FulfillerStatus, *, cancel_in_shop: bool
    ) -> None:
        if status.status not in REFLECTED_STATUSES:
            logger.debug(
                f"woocommerce order {order.number}: fulfiller status {status.status.value} needs nothing in the shop"
            )
            return
        data = await self._require(order)
        meta = data.get("meta_data")
        marker = f"{status.outbound_id}:{status.status.value}:{status.cancel_reason or ''}"
        if mapping.meta_value(meta, STATUS_KEY) == marker:
            return
        note = f"Fulfillment status: {status.status.value}" + (
            f" (reason: {status.cancel_reason})" if status.cancel_reason else ""
        )
        await self._note_once(order, note, customer=False)
        current = mapping.meta_value(meta, mapping.TAGS_META_KEY)
        updates = [
            _meta(meta, STATUS_KEY, marker),
            _meta(meta, mapping.TAGS_META_KEY, mapping.add_tag(current, self._status_tag)),
        ]
        body: dict[str, Any] = {"meta_data": updates}
        if (
            cancel_in_shop
            and status.status == OutboundStatus.CANCELED
            and data.get("status") not in FINAL_STATUSES
        ):
            body["status"] = "cancelled"
        await self._update(order, body)
        logger.info(f"fulfiller status {status.status.value} noted on order {order.number}")

    async def _note_once(self, order: OrderRef, text: str, *, customer: bool) -> None:
        path = f"{API}/orders/{order.order_id}/notes"
        kind = "customer" if customer else "internal"
        notes = decode(await self._http.request("GET", path, params={"type": kind}), list, f"GET {path}")
        if any(isinstance(n, dict) and n.get("note") == text for n in notes):
            return
        await self._http.request("POST", path, json={"note": text, "customer_note": customer}, ok=(200, 201))

    async def _update(self, order: OrderRef, body: dict[str, Any]) -> None:
        # POST on the item route is WordPress' update too, and hosts that block PUT let it through;
        # the body holds absolute values, so repeating it is safe.
        await self._http.request("POST", f"{API}/orders/{order.order_id}", json=body, idempotent=True)


def _meta(meta: Any, key: str, value: Any) -> dict[str, Any]:
    entry = mapping.meta_entry(meta, key)
    update: dict[str, Any] = {"key": key, "value": value}
    if entry is not None and entry.get("id"):
        update["id"] = entry["id"]
    return update
