"""Fulfiller-side cancellations reflected on the Shopify order: tag, note, and optionally a cancellation."""

from __future__ import annotations

from loguru import logger

from adapters.shopify import queries
from adapters.shopify.transport import GraphQLTransport, raise_user_errors
from daemon.clock import Clock
from daemon.errors import RecordError
from daemon.model import OWN_NOTE_PREFIX, FulfillerStatus, OrderRef, OutboundStatus

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
