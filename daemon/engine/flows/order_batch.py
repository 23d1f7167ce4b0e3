"""What the orders flow works out for a claimed batch at once: its plain creates and their intents.

The batch's orders are decoded, gated and built together (the SKUs of all of them looked up in one
statement), and the intents of the creates are written a chunk at a time: ``INTENT_CHUNK`` creates cost
one statement instead of one each, and still no create is sent before its intent is durable. The chunk
also bounds what a process that has lost its database (and with it its merchant's lease) can still
send: the creates whose intents were written, at most a chunk plus those in flight.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

from daemon.engine.codec import content_hash, from_payload, to_payload
from daemon.engine.context import MerchantContext
from daemon.engine.eligibility import Export, decide
from daemon.engine.flow import Cycle
from daemon.engine.outbound_builder import build_outbound
from daemon.engine.settings import ChannelSettings
from daemon.ids import merchant_outbound_number
from daemon.model import Outbound, ShopOrder, shop_written_note
from daemon.store.snapshot import Claimed

INTENT_CHUNK = 32
PREPARED = "orders"  # the key in ``Cycle.prepared``


@dataclass(frozen=True, slots=True)
class ReadyExport:
    """A first create of one order: the outbound to send and what its intent records."""

    item: Claimed
    order: ShopOrder
    number: str
    outbound: Outbound
    outbound_hash: str


class PreparedCreates:
    """The plain creates of one claimed batch, in batch order, and which intents are written."""

    def __init__(self, ctx: MerchantContext, ready: list[ReadyExport]) -> None:
        self._ctx = ctx
        self._ready = {r.item.external_id: r for r in ready}
        self._unwritten = list(ready)
        self._lock = asyncio.Lock()

    def take(self, item: Claimed) -> ReadyExport | None:
        """The prepared create of this very claim, once; None: the handler works the order out itself."""
        ready = self._ready.get(item.external_id)
        if ready is None or ready.item is not item:
            return None
        del self._ready[item.external_id]
        return ready

    async def ensure_intent(self, export: ReadyExport) -> None:
        """Returns once the intent of ``export`` is durable, writing it with the next ones of the batch."""
        async with self._lock:
            if not any(r is export for r in self._unwritten):
                return
            chunk = [export, *(r for r in self._unwritten if r is not export)][:INTENT_CHUNK]
            intents = [(r.item, r.outbound.outbound_id, r.outbound_hash) for r in chunk]
            await self._ctx.snapshot.record_intents(intents)
            written = {id(r) for r in chunk}
            self._unwritten = [r for r in self._unwritten if id(r) not in written]


async def prepare_orders(cycle: Cycle, batch: list[Claimed]) -> None:
    """Work out the batch's plain creates (see the module's docstring).

    Only what the orders handler would create right away is prepared; a cancel, a wait, an edit, an order
    that cannot be built (its handler parks it with the reason) or anything unexpected is left to the
    handler, which does it one by one."""
    ctx, channel = cycle.ctx, cycle.shop
    now = ctx.clock.now()
    candidates: list[tuple[Claimed, ShopOrder]] = []
    for item in batch:
        if "unreadable" in item.payload or item.remote_status is not None:
            continue
        try:
            order = decoded(item)
            if order.cancelled or (
                item.remote_id is None
                and not isinstance(decide(order, channel.eligibility, now, channel.kind), Export)
            ):
                continue
        except Exception:  # the handler meets it again and classifies it
            continue
        candidates.append((item, order))
    cycle.prepared.pop(PREPARED, None)
    if not candidates:
        return
    jfskus = await cycle.skus.lookup(sorted({ln.sku for _, o in candidates for ln in o.lines if ln.sku}))
    ready: list[ReadyExport] = []
    for item, order in candidates:
        try:
            outbound = outbound_of(ctx, channel, order, jfskus)
        except Exception:
            continue
        outbound_hash = content_hash(to_payload(outbound))
        if item.remote_id is not None and item.remote_hash not in (None, outbound_hash):
            continue  # an earlier attempt with other content: the handler finds out what FFN holds
        number = merchant_outbound_number(channel.order_prefix, order.number)
        ready.append(ReadyExport(item, order, number, outbound, outbound_hash))
    cycle.prepared[PREPARED] = PreparedCreates(ctx, ready)


def decoded(item: Claimed) -> ShopOrder:
    order = from_payload(ShopOrder, item.payload)
    # What ffn-sync wrote to the order itself (a note about the fulfiller's cancel) is no shop change.
    return replace(order, note=shop_written_note(order.note))


def outbound_of(
    ctx: MerchantContext, channel: ChannelSettings, order: ShopOrder, jfsku_by_sku: dict[str, str]
) -> Outbound:
    settings = ctx.settings
    return build_outbound(
        order,
        channel,
        ffn_merchant_id=settings.ffn_merchant_id,
        warehouse_id=settings.warehouse_id,
        jfsku_by_sku=jfsku_by_sku,
    )
