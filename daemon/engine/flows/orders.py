"""Orders: shop → FFN outbounds; edits follow while FFN allows, shop cancels cancel the outbound.

One order, top to bottom (the generic cycle, ``daemon.engine.cycle.sync``, calls the three steps):

1. ``read_orders``: the shop's orders changed in a delta window (pull.py pages them);
2. ``order_rows``: each becomes its snapshot row, pending only when its content hash changed;
3. ``push_order``: a claimed row: a cancel cancels the outbound; else the gate decides (export, wait,
   never); an export builds the outbound, records the intent and creates it in FFN (idempotent by its
   outboundId); an edit of an exported order updates it while FFN allows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime

from loguru import logger

from daemon.engine import history
from daemon.engine.codec import content_hash, to_payload
from daemon.engine.context import MerchantContext
from daemon.engine.cycle import CycleCounts, sync
from daemon.engine.eligibility import Export, GateDecision, Never, Wait, decide
from daemon.engine.flow import FAILED, PUSHED, SKIPPED, WAITING, Cycle, Flow, Scope, Source
from daemon.engine.flows.order_batch import (
    PREPARED,
    PreparedCreates,
    ReadyExport,
    decoded,
    outbound_of,
    prepare_orders,
)
from daemon.engine.outbound_builder import OrderRefused
from daemon.engine.rereads import orders_behind
from daemon.engine.settings import ChannelSettings
from daemon.engine.skus import JfskuCache
from daemon.engine.windows import CoveredWindow, FreshWindow
from daemon.errors import ManualActionNeeded, RecordError
from daemon.ids import merchant_outbound_number
from daemon.model import (
    EDITABLE_OUTBOUND_STATUSES,
    FINAL_OUTBOUND_STATUSES,
    Outbound,
    OutboundStatus,
    ShopOrder,
    Window,
)
from daemon.ports import CatchUpReads, OrderVersions, SizedReads, UnreadableOrder
from daemon.secrets import redact
from daemon.store.snapshot import ENTITY_ORDER, REASON_WAITING, Claimed, Pulled

REASON_MANUAL = "manual_action"
REASON_UNREADABLE = "unreadable_order"


def read_orders(cycle: Cycle, window: Window) -> AsyncIterator[ShopOrder | UnreadableOrder]:
    shop = cycle.ctx.channels[cycle.shop.name]
    if isinstance(window, CoveredWindow) and isinstance(shop, OrderVersions):
        # Triggered reads already read it: what the snapshot lacks, not the whole window again.
        return orders_behind(cycle.ctx, cycle.shop.name, shop, window)
    if isinstance(shop, SizedReads) and not isinstance(window, FreshWindow):
        # A poll: a burst in one go (Shopify: a bulk operation), a trickle page by page. Not a nudged read
        # (FreshWindow): it is about latency, and a one-go read takes seconds, however few the points.
        return shop.changed_orders_by_size(window)
    return shop.changed_orders(window)


def catch_up_reader(cycle: Cycle) -> Source[ShopOrder | UnreadableOrder] | None:
    """The channel's one-go read of a long window (``CatchUpReads``), when it has one."""
    channel = cycle.ctx.channels[cycle.shop.name]
    if not isinstance(channel, CatchUpReads):
        return None
    return lambda _cycle, window: channel.changed_orders_bulk(window)


def order_rows(cycle: Cycle, order: ShopOrder | UnreadableOrder) -> list[tuple[str, Pulled]]:
    return [(cycle.shop.name, order_row(order))]


async def push_order(cycle: Cycle, item: Claimed) -> str:
    try:
        ready = cycle.prepared.get(PREPARED)
        if isinstance(ready, PreparedCreates) and (export := ready.take(item)) is not None:
            await ready.ensure_intent(export)
            return await _create(cycle.ctx, cycle.shop, export)
        return await _push_order(cycle.ctx, cycle.shop, item, cycle.skus)
    except RecordError as exc:  # parked by the drain; the order's history says why
        code = getattr(exc, "reason_code", None) or exc.vendor_code or type(exc).__name__
        await _event(cycle.ctx, item.channel, item, history.PARKED, f"{code}: {redact(exc.message)}")
        raise


ORDERS = Flow(
    name="orders",
    scope=Scope.CHANNEL,
    entity=ENTITY_ORDER,
    cursor=True,
    source=read_orders,
    catch_up=catch_up_reader,
    rows=order_rows,
    handler=push_order,
    prepare=prepare_orders,
    push_while_reading=True,
    moves_stock=True,  # orders reserve stock from the moment they are read
)


async def run(ctx: MerchantContext, channel: ChannelSettings, counts: CycleCounts) -> None:
    """One cycle of the orders flow of ``channel`` (what its scheduled job runs)."""
    await sync(ctx, ORDERS, channel, counts)


def order_row(order: ShopOrder | UnreadableOrder) -> Pulled:
    if isinstance(order, UnreadableOrder):
        label = order.number or order.order_id
        payload = {
            "unreadable": order.reason,
            "order_id": order.order_id,
            "number": label,
            "lines": to_payload(order)["lines"],  # what could be read keeps its stock reserved
        }
        return Pulled(order.order_id, payload, content_hash(payload), label, None)
    payload = to_payload(order)
    return Pulled(order.order_id, payload, content_hash(payload), order.number, order.created_at)


async def _push_order(ctx: MerchantContext, channel: ChannelSettings, item: Claimed, skus: JfskuCache) -> str:
    if "unreadable" in item.payload:
        raise OrderRefused(
            REASON_UNREADABLE,
            f"order {item.payload['number']} (shop id {item.external_id}) {item.payload['unreadable']}; it is read "
            "again when it changes in the shop, or with `ffn-sync retry` once ffn-sync can read it",
        )
    order = decoded(item)
    now = ctx.clock.now()
    number = merchant_outbound_number(channel.order_prefix, order.number)
    if order.cancelled:
        return await _cancel(ctx, item, number)
    in_ffn = item.remote_status is not None
    if not in_ffn and item.remote_id is None:
        decision = decide(order, channel.eligibility, now, channel.kind)
        if not isinstance(decision, Export):  # an export is recorded with its outbound below
            await _event(ctx, channel.name, item, history.GATE, describe_decision(decision))
        if isinstance(decision, Never):
            await ctx.snapshot.skip(item, decision.reason)
            logger.info("skipped order {}: {}", number, decision.reason)
            return SKIPPED
        if isinstance(decision, Wait):
            if decision.until is not None:
                await ctx.snapshot.wait_until(item, decision.until, decision.reason)
            else:
                # Read again when the order changes in the shop; its lines stay reserved meanwhile.
                await ctx.snapshot.skip(item, decision.reason, reason_code=REASON_WAITING)
                logger.info("order {} waits: {}", number, decision.reason)
            return WAITING
    outbound = outbound_of(
        ctx, channel, order, await skus.lookup([line.sku for line in order.lines if line.sku])
    )
    outbound_hash = content_hash(to_payload(outbound))
    if not in_ffn and item.remote_id is not None and item.remote_hash not in (None, outbound_hash):
        # An earlier attempt may have created the outbound with other content (its answer was lost):
        # a repeated create would only adopt that one, so an edit since then must go as an update.
        existing = await ctx.fulfiller.get_outbound(item.remote_id)
        if existing is not None:
            adopted = replace(item, remote_status=existing.status.value)
            return await _update(ctx, adopted, outbound, outbound_hash, number)
    if not in_ffn:
        await ctx.snapshot.record_intent(item, outbound.outbound_id, outbound_hash)
        return await _create(ctx, channel, ReadyExport(item, order, number, outbound, outbound_hash))
    if outbound_hash == item.remote_hash:
        await ctx.snapshot.done(item, now=now)  # changed in the shop, but nothing FFN carries
        return SKIPPED
    return await _update(ctx, item, outbound, outbound_hash, number)


async def _create(ctx: MerchantContext, channel: ChannelSettings, export: ReadyExport) -> str:
    """The create itself; its intent is written (idempotent by its outboundId)."""
    item = export.item
    created = await ctx.fulfiller.create_outbound(export.outbound)
    # Taken once FFN has the outbound: its lines reserve until a stock level stored after this moment
    # (daemon.store.stock), and a level read while the create was under way does not show them yet.
    now = ctx.clock.now()
    await ctx.snapshot.done(
        item,
        now=now,
        remote_id=created,
        remote_status=OutboundStatus.PENDING.value,
        remote_hash=export.outbound_hash,
    )
    await _event(ctx, channel.name, item, history.EXPORTED, f"as outbound {created} ({export.number})")
    ctx.observer.order_exported(ctx.merchant_id, channel.name, _latency_s(export.order.created_at, now))
    logger.info("exported order {} as outbound {}", export.number, created)
    return PUSHED


async def _update(
    ctx: MerchantContext, item: Claimed, outbound: Outbound, outbound_hash: str, number: str
) -> str:
    now = ctx.clock.now()
    status = item.remote_status
    if item.reason_code == REASON_MANUAL:
        # An operator's retry: ask FFN where the outbound stands now instead of repeating what failed.
        current = await ctx.fulfiller.get_outbound(item.remote_id or outbound.outbound_id)
        status = current.status.value if current is not None else status
        if current is not None and current.status not in EDITABLE_OUTBOUND_STATUSES:
            if current.status != OutboundStatus.CANCELED:
                logger.info(
                    "order {}: outbound {} is {} in FFN; the shop edit counts as applied by hand", number,
                    item.remote_id, status,
                )  # fmt: skip
            await ctx.snapshot.done(item, now=now, remote_status=status, remote_hash=outbound_hash)
            await _event(
                ctx, item.channel, item, history.UPDATED, f"manual action cleared: outbound is {status}"
            )
            return SKIPPED
    if status in FINAL_OUTBOUND_STATUSES:
        # Nothing can change a shipped or cancelled outbound, not even by hand; a PATCH would only earn
        # a 403 and a false manual_action dead letter.
        await ctx.snapshot.done(item, now=now)
        logger.info(
            "order {} changed in the shop; outbound {} is {}, nothing to update",
            number,
            item.remote_id,
            status,
        )
        return SKIPPED
    try:
        await ctx.fulfiller.update_outbound(outbound)
    except ManualActionNeeded as exc:
        await ctx.snapshot.park(
            item,
            REASON_MANUAL,
            f"order {number} was edited in the shop after the fulfiller started on outbound "
            f"{item.remote_id} (status {status}): apply the change by hand in FFN, then `ffn-sync retry` "
            f"({exc.vendor_code or exc.message})",
        )
        await _event(
            ctx,
            item.channel,
            item,
            history.MANUAL,
            f"edit not applied: outbound {item.remote_id} in progress",
        )
        logger.warning("order {} edited too late: manual action needed", number)
        return FAILED
    await ctx.snapshot.done(item, now=now, remote_status=status, remote_hash=outbound_hash)
    await _event(ctx, item.channel, item, history.UPDATED, f"outbound {item.remote_id} updated after an edit")
    logger.info("updated outbound {} for edited order {}", item.remote_id, number)
    return PUSHED


async def _cancel(ctx: MerchantContext, item: Claimed, number: str) -> str:
    now = ctx.clock.now()
    if item.remote_id is None:
        return await _cancelled_before_export(ctx, item)
    if item.remote_status == OutboundStatus.CANCELED.value:
        await ctx.snapshot.done(item, now=now)
        return SKIPPED
    if item.reason_code == REASON_MANUAL:
        # An operator's retry: if the fulfiller has stopped it meanwhile, nothing is left to do.
        current = await ctx.fulfiller.get_outbound(item.remote_id)
        if current is not None and current.status == OutboundStatus.CANCELED:
            await ctx.snapshot.done(item, now=now, remote_status=current.status.value)
            logger.info("order {}: outbound {} is cancelled in FFN now", number, item.remote_id)
            return SKIPPED
    if item.remote_status is None:
        # A create may or may not have reached FFN before a crash: ask instead of guessing.
        existing = await ctx.fulfiller.get_outbound(item.remote_id)
        if existing is None:
            return await _cancelled_before_export(ctx, item)
    try:
        await ctx.fulfiller.cancel_outbound(item.remote_id, f"cancelled in the shop (order {number})")
    except ManualActionNeeded as exc:
        await ctx.snapshot.park(
            item,
            REASON_MANUAL,
            f"order {number} was cancelled in the shop but the fulfiller already works on outbound "
            f"{item.remote_id} (status {item.remote_status}): stop the shipment with the fulfiller "
            f"({exc.vendor_code or exc.message})",
        )
        await _event(
            ctx,
            item.channel,
            item,
            history.MANUAL,
            f"cancel not applied: outbound {item.remote_id} in progress",
        )
        logger.warning("order {} cancelled too late: manual action needed", number)
        return FAILED
    await ctx.snapshot.done(item, now=now, remote_status=OutboundStatus.CANCELED.value)
    await _event(ctx, item.channel, item, history.CANCELLED, f"outbound {item.remote_id} cancelled in FFN")
    logger.info("cancelled outbound {} for order {}", item.remote_id, number)
    return PUSHED


async def _cancelled_before_export(ctx: MerchantContext, item: Claimed) -> str:
    await ctx.snapshot.skip(item, "cancelled in the shop before export")
    await _event(ctx, item.channel, item, history.GATE, "never: cancelled in the shop before export")
    return SKIPPED


def describe_decision(decision: GateDecision) -> str:
    kind = {Export: "export", Wait: "wait", Never: "never"}[type(decision)]
    return f"{kind}: {decision.reason}"


async def _event(ctx: MerchantContext, channel: str, item: Claimed, kind: str, detail: str) -> None:
    await history.note(ctx.pool, ctx.merchant_id, channel, item.external_id, kind, detail, at=ctx.clock.now())


def _latency_s(created_at: datetime, now: datetime) -> float:
    return max(0.0, (now - created_at).total_seconds())
