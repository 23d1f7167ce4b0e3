"""Write-back to Shopify orders: FFN shipments as fulfilments (``ShipmentWriter``) and fulfiller-side
cancellations as tag, note and optionally a cancellation (``OrderStatusWriter``)."""

from __future__ import annotations

from typing import Any

from loguru import logger

from adapters.shopify import queries
from adapters.shopify.fulfil import FulfilmentState, already_applied, fulfillment_inputs, parse_state, plan
from adapters.shopify.gate import location_query
from adapters.shopify.read import all_lines
from adapters.shopify.transport import GraphQLTransport, raise_user_errors
from daemon.clock import Clock
from daemon.errors import ManualActionNeeded, RecordError, RetryableError
from daemon.model import OWN_NOTE_PREFIX, FulfillerStatus, OrderRef, OutboundStatus, Shipment

JOB_POLLS = 5
JOB_POLL_S = 1.0
_ALREADY_CANCELLED = "already been cancelled"


class OrderStatusWriter:
    def __init__(
        self,
        transport: GraphQLTransport,
        *,
        clock: Clock,
        status_tag: str,
        partial_status_tag: str,
        notify_customer: bool,
        refund_on_cancel: bool = True,
    ) -> None:
        self._transport = transport
        self._clock = clock
        self._tags = {
            OutboundStatus.CANCELED: status_tag,
            OutboundStatus.PARTIALLY_CANCELED: partial_status_tag,
        }
        self._notify = notify_customer
        self._refund = refund_on_cancel

    async def apply(self, order: OrderRef, status: FulfillerStatus, *, cancel_in_shop: bool) -> None:
        tag = self._tags.get(status.status)
        if tag is None:
            logger.debug(
                f"shopify order {order.number}: fulfiller status {status.status} needs nothing in the shop"
            )
            return
        data = await self._transport.query(queries.ORDER_NOTE, {"id": order.order_id})
        node = data.get("order")
        if node is None:
            raise RecordError(
                f"order {order.number} ({order.order_id}) not found in Shopify; an order older than 60 days "
                "is invisible without the read_all_orders scope (grant it to the app), otherwise it was deleted",
                upstream="shopify",
            )
        what = "cancelled" if status.status == OutboundStatus.CANCELED else "partially cancelled"
        # The prefix keeps this line out of the outbound (see ``shop_written_note``).
        line = f"{OWN_NOTE_PREFIX}the fulfiller {what} outbound {status.outbound_id}"
        if status.cancel_reason:
            line += f" ({status.cancel_reason})"
        # Each step checks the order first, so applying the same status again changes nothing.
        if tag not in (node.get("tags") or []):
            added = await self._transport.mutate(queries.ADD_TAGS, {"id": order.order_id, "tags": [tag]})
            raise_user_errors(
                (added.get("tagsAdd") or {}).get("userErrors"), f"order {order.number}: tagsAdd"
            )
        note = node.get("note") or ""
        if line not in note:
            new_note = f"{note}\n{line}" if note else line
            updated = await self._transport.mutate(
                queries.UPDATE_NOTE, {"input": {"id": order.order_id, "note": new_note}}
            )
            raise_user_errors(
                (updated.get("orderUpdate") or {}).get("userErrors"), f"order {order.number}: orderUpdate"
            )
        if cancel_in_shop and status.status == OutboundStatus.CANCELED and node.get("cancelledAt") is None:
            await self._cancel(order, line)

    async def _cancel(self, order: OrderRef, staff_note: str) -> None:
        data = await self._transport.mutate(
            queries.CANCEL_ORDER,
            {
                "orderId": order.order_id,
                "reason": "OTHER",
                "refund": self._refund,
                # Stock comes from the fulfiller; restocking here would be overwritten or double-counted.
                "restock": False,
                "notifyCustomer": self._notify,
                "staffNote": staff_note,
            },
        )
        result = data.get("orderCancel") or {}
        errors = [
            e
            for e in result.get("orderCancelUserErrors") or []
            if _ALREADY_CANCELLED not in str(e.get("message"))
        ]
        raise_user_errors(errors, f"order {order.number}: orderCancel")
        job = result.get("job") or {}
        # orderCancel runs as a background job; wait briefly so a following read sees it.
        for _ in range(JOB_POLLS):
            if job.get("done") or not job.get("id"):
                break
            await self._clock.sleep(JOB_POLL_S)
            job = (await self._transport.query(queries.JOB, {"id": job["id"]})).get("job") or {}
        if job.get("id") and not job.get("done"):
            logger.info(f"shopify order {order.number}: cancellation job {job['id']} still running")
        else:
            logger.info(f"shopify order {order.number}: cancelled in the shop")


class ShipmentWriter:
    """One FFN shipment as fulfilments at the FFN location (planning in ``fulfil``)."""

    def __init__(self, transport: GraphQLTransport, location_id: str, *, notify_customer: bool) -> None:
        self._transport = transport
        self._location_id = location_id
        self._notify = notify_customer

    async def apply(self, order: OrderRef, shipment: Shipment) -> None:
        state = await self._state(order)
        label = f"shipment {shipment.shipment_id} for order {state.name}"
        if already_applied(state, shipment):
            logger.info(f"shopify {label}: a fulfilment already carries its tracking; nothing to do")
            return
        if state.cancelled:
            raise ManualActionNeeded(f"{label}: the order is cancelled in Shopify; fulfilment not recorded")
        if state.truncated:
            # Its line pages stopped coming: fulfilling what was read would fulfil the order short, and
            # the tracking then on it makes every retry look applied. Retried, then parked.
            raise RetryableError(
                f"{label}: the fulfillment order's lines could not all be read; nothing fulfilled yet",
                upstream="shopify",
            )
        try:
            allocation = plan(state, shipment)
        except ValueError as exc:
            raise RecordError(f"{label}: {exc}", upstream="shopify") from None
        if allocation.empty:
            if allocation.unmatched:
                raise RecordError(
                    f"{label}: lines {allocation.unmatched} are not open at the FFN location "
                    f"{self._location_id} (fulfilled, moved to another location, or with another fulfillment "
                    "service)",
                    upstream="shopify",
                )
            if not shipment.trackings or not any(t.number for t in shipment.trackings):
                logger.info(f"shopify {label}: nothing remains to fulfil; treated as applied")
                return
            raise ManualActionNeeded(
                f"{label}: nothing remains to fulfil in Shopify (fulfilled there by hand?); "
                f"tracking {[t.number for t in shipment.trackings]} not attached"
            )
        if allocation.unmatched or allocation.short:
            logger.warning(
                f"shopify {label}: fulfilling what matches; unmatched={allocation.unmatched} "
                f"short={allocation.short}"
            )
        for payload in fulfillment_inputs(allocation, shipment, notify_customer=self._notify):
            data = await self._transport.mutate(queries.CREATE_FULFILLMENT, {"fulfillment": payload})
            result = data.get("fulfillmentCreate") or {}
            raise_user_errors(result.get("userErrors"), f"{label}: fulfillmentCreate")
            created = result.get("fulfillment") or {}
            logger.info(f"shopify {label}: fulfilment {created.get('name')} created ({created.get('id')})")

    async def _state(self, order: OrderRef) -> FulfilmentState:
        after: str | None = None
        fo_nodes: list[dict[str, Any]] = []
        while True:
            data = await self._transport.query(
                queries.FULFILMENT_STATE,
                {"id": order.order_id, "after": after, "foQuery": location_query(self._location_id)},
            )
            node = data.get("order")
            if node is None:
                raise RecordError(order_not_found(order), upstream="shopify")
            fos = node["fulfillmentOrders"]
            fo_nodes.extend(fos["nodes"])
            if not fos["pageInfo"]["hasNextPage"]:
                # A fulfillment order of more than 50 lines: the rest of its lines, page by page.
                fo_nodes = [
                    await all_lines(self._transport, fo, queries.FULFILMENT_STATE_LINES) for fo in fo_nodes
                ]
                return parse_state(node, fo_nodes, self._location_id)
            after = fos["pageInfo"]["endCursor"]


def order_not_found(order: OrderRef) -> str:
    return (
        f"order {order.number} ({order.order_id}) not found in Shopify; an order older than 60 days is "
        "invisible without the read_all_orders scope (grant it to the app), otherwise it was deleted"
    )
