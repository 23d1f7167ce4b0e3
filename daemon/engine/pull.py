"""Read a flow's delta windows into the snapshot, and move the cursor with each window's last rows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import asyncpg
from loguru import logger

from daemon.engine import history
from daemon.engine.context import MerchantContext
from daemon.engine.flow import Cycle, CycleCounts, Flow
from daemon.engine.push import PushBehind
from daemon.engine.windows import CoveredWindow, cursor_end, due_windows
from daemon.model import Window
from daemon.store.history import insert_events
from daemon.store.snapshot import ENTITY_ORDER, Pulled
from daemon.store.stock import forget_written

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Page(Generic[R]):
    records: list[R]
    last: bool  # the source is exhausted: this page closes the window


async def pages(records: AsyncIterator[R], size: int, counts: CycleCounts) -> AsyncIterator[Page[R]]:
    """The one page loop of every reader: full pages as they fill, then the rest (possibly empty) as the last."""
    page: list[R] = []
    async for record in records:
        counts.pulled += 1
        page.append(record)
        if len(page) >= size:
            yield Page(page, last=False)
            page = []
    yield Page(page, last=True)


async def pull(flow: Flow[R], cycle: Cycle) -> None:
    """Stream the flow's windows up to ``now − lag`` into the snapshot (or its own table), page by page.

    Pages are committed as they come (re-reading them after a crash costs nothing: unchanged hashes write
    nothing); the cursor moves only in the transaction of a window's last page. A long catch-up is cut into
    windows of ``max_window_s`` so progress survives an interruption — unless the flow has a catch-up reader
    for this channel (``Flow.catch_up``) and the catch-up is longer than ``catch_up_after_s``: then it is one
    window read in one go (Shopify: one bulk operation), and the cursor moves as after any window. A flow
    that ``push_while_reading`` pushes after each page (while the next one is read, ``PushBehind``), so a
    large backlog is sent while it is still being read (and a process that keeps dying mid-pull still makes
    progress).
    """
    async with PushBehind(flow, cycle) as behind:
        await _pull(flow, cycle, behind)


async def _pull(flow: Flow[R], cycle: Cycle, behind: PushBehind) -> None:
    ctx, counts = cycle.ctx, cycle.counts
    if flow.source is None:
        return
    settings = flow.cursor_settings(cycle)
    long_reader = flow.catch_up(cycle) if flow.catch_up and settings.catch_up_after_s is not None else None
    whole_after = settings.catch_up_after_s if long_reader is not None else None
    async for window in due_windows(ctx, cycle.key, flow.name, settings, counts, whole_after_s=whole_after):
        pulled_before = counts.pulled
        source = flow.source
        if long_reader is not None and whole_after is not None and _span_s(window) > whole_after:
            # DEBUG: a new fleet's first start has one per job; the reader logs what it did read.
            logger.debug(
                f"{flow.name} {cycle.key}: {_span_s(window) / 3600:.1f} h to catch up since "
                f"{window.start:%Y-%m-%d %H:%M:%S}; read in one go"
            )
            source = long_reader
        async for page in pages(source(cycle, window), flow.page_size, counts):
            end = cursor_end(window)
            if (
                page.last
                and counts.pulled == pulled_before
                and (
                    end is None
                    or ctx.quiet.cursor_may_stay(
                        cycle.key, flow.name, end, settings, listed=isinstance(window, CoveredWindow)
                    )
                )
            ):
                continue  # an empty window: nothing to store, the cursor may stay (daemon.engine.quiet)
            async with ctx.pool.acquire() as conn:
                if not page.last:
                    counts.changed += await _store(flow, cycle, conn, page.records)
                else:
                    stored = None
                    async with conn.transaction():
                        counts.changed += await _store(flow, cycle, conn, page.records)
                        if end is not None:  # None: a nudged read past the lag
                            stored = await ctx.cursors.advance(
                                conn, cycle.key, flow.name, end, read_from=window.start
                            )
                            if stored is None:
                                logger.info(
                                    f"{flow.name} {cycle.key}: the cursor was moved back (resync) while this"
                                    f" window was read; the next cycle reads from there"
                                )
                            else:
                                ctx.quiet.cursor_moved(cycle.key, flow.name, end)
                    if stored is not None:  # committed
                        ctx.cursors.remember(cycle.key, flow.name, stored)
            if not page.last and flow.push_while_reading:
                await behind.after_page()


def _span_s(window: Window) -> float:
    return (window.end - window.start).total_seconds()


async def _store(flow: Flow[R], cycle: Cycle, conn: asyncpg.Connection, records: list[R]) -> int:
    if flow.store is not None:
        return await flow.store(cycle, conn, records)
    if flow.rows is None or flow.entity is None:
        raise TypeError(f"flow {flow.name} has a source but neither rows nor a store")
    by_channel: dict[str, list[Pulled]] = {}
    for record in records:
        for channel, row in flow.rows(cycle, record):
            by_channel.setdefault(channel, []).append(row)
    changed = 0
    for channel, rows in by_channel.items():
        changed += len(await store_rows(cycle.ctx, conn, channel, flow.entity, rows))
    return changed


async def store_rows(
    ctx: MerchantContext, conn: asyncpg.Connection, channel: str, entity: str, rows: list[Pulled]
) -> list[str]:
    """Upsert pulled rows; orders that changed get a ``pulled`` event (``ffn-sync trace``)."""
    if not rows:
        return []  # an empty page costs no statement
    now = ctx.clock.now()
    if entity != ENTITY_ORDER:
        return await ctx.snapshot.upsert(conn, channel, entity, rows, now=now)
    shop = ctx.channels.get(channel)
    # Without compare-and-swap writes, the shop's own stock moves (checkout, payment, cancel) go unseen.
    watch = shop is not None and not shop.stock_cas
    stored = await ctx.snapshot.stored(conn, channel, entity, rows, payloads=watch)
    changed = await ctx.snapshot.upsert(conn, channel, entity, rows, now=now, stored=stored)
    if not changed:
        return changed
    payloads = {row.external_id: row.payload for row in rows}
    events = [(order_id, history.PULLED, history.describe_pull(payloads[order_id])) for order_id in changed]
    await insert_events(conn, ctx.merchant_id, channel, events, at=now)
    if watch:
        before = {order_id: stock_fingerprint(payload) for order_id, payload in stored.payloads.items()}
        moved = [o for o in changed if before.get(o) != stock_fingerprint(payloads[o])]
        skus = {line.get("sku") for order_id in moved for line in payloads[order_id].get("lines") or []}
        # A shop moves its own stock when an order is placed, paid or cancelled, so what we last wrote there
        # is no longer what it shows: forget it, and the next stock pass writes the target even if unchanged.
        await forget_written(conn, ctx.merchant_id, channel, sorted(s for s in skus if s))
    return changed


def stock_fingerprint(payload: dict[str, Any]) -> tuple[Any, ...]:
    """What of an order can make a shop move its own stock: its lines, payment, status, cancellation."""
    lines = tuple((line.get("sku"), line.get("quantity")) for line in payload.get("lines") or [])
    return lines, payload.get("payment_state"), payload.get("shop_status"), payload.get("cancelled")
