"""Reading orders again cheaply: list which changed when, read in full only what the snapshot is behind on.

A shop whose full order reads are dear (Shopify's cost budget) offers ``OrderVersions``. Two readers use
it for windows whose orders the snapshot mostly holds already: the reconcile (a week behind the cursor,
every hour) and the orders flow for a window that webhook-triggered reads have already covered (daemon/
engine/windows.py). The snapshot stays the truth: an order is skipped only when it is stored at that
version, so a window whose store failed is read again in full.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from daemon.engine.codec import content_hash, to_payload
from daemon.engine.context import MerchantContext
from daemon.model import ShopOrder, Window
from daemon.ports import OrderVersions, ShopChannel, UnreadableOrder
from daemon.store.snapshot import order_payloads

BATCH = 500


async def orders_behind(
    ctx: MerchantContext,
    channel: str,
    shop: ShopChannel,
    window: Window,
    *,
    memory: dict[str, dict[str, datetime]] | None = None,
) -> AsyncIterator[ShopOrder | UnreadableOrder]:
    """The orders of the window that the snapshot lacks, holds unreadable, or holds at an older change.

    ``memory`` (per channel): versions an earlier pass read and found unchanged (a shop's change time also
    moves for what we do not read, and the snapshot then keeps the older one); they are not read again.
    It is replaced by what this pass listed, so it stays bounded by the window.
    """
    assert isinstance(shop, OrderVersions)
    previous = memory.get(channel, {}) if memory is not None else {}
    current: dict[str, datetime] = {}
    batch: list[tuple[str, datetime]] = []
    versions = shop.order_versions(window)
    while True:
        version = await anext(versions, None)
        if version is not None:
            batch.append(version)
        if batch and (version is None or len(batch) >= BATCH):
            stored = await order_payloads(ctx.pool, ctx.merchant_id, channel, [i for i, _ in batch])
            for order_id, updated_at in batch:
                payload = stored.get(order_id)
                if previous.get(order_id) == updated_at:
                    current[order_id] = updated_at
                    continue
                if holds(payload, updated_at):
                    continue
                order = await shop.get_order(order_id)
                if order is None:
                    continue
                if payload is not None and _same_content(payload, order):
                    current[order_id] = updated_at  # nothing to store; remembered instead
                yield order
            batch = []
        if version is None:
            if memory is not None:
                memory[channel] = current
            return


def holds(payload: dict[str, Any] | None, updated_at: datetime) -> bool:
    """The stored payload is that version of the order (or a later one)."""
    if payload is None or "unreadable" in payload or not payload.get("updated_at"):
        return False
    try:
        return datetime.fromisoformat(payload["updated_at"]) >= updated_at
    except (TypeError, ValueError):
        return False


def _same_content(payload: dict[str, Any], order: ShopOrder | UnreadableOrder) -> bool:
    # As flows.orders.order_row hashes a readable order (an unreadable one is always read again).
    return isinstance(order, ShopOrder) and content_hash(payload) == content_hash(to_payload(order))
