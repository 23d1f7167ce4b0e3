"""Pull a delta window into the snapshot, and move the cursor with the window's last rows."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

from daemon.engine import history
from daemon.engine.context import MerchantContext
from daemon.engine.cycle import CycleCounts
from daemon.engine.settings import CursorSettings
from daemon.engine.snapshot import ENTITY_ORDER, Pulled
from daemon.engine.windows import due_windows
from daemon.model import Window

T = TypeVar("T")
PAGE_ROWS = 250


async def pull_window(
    ctx: MerchantContext,
    *,
    channel: str,
    flow: str,
    entity: str,
    settings: CursorSettings,
    source: Callable[[Window], AsyncIterator[T]],
    to_rows: Callable[[T], list[tuple[str, Pulled]]],
    counts: CycleCounts,
    after_page: Callable[[], Awaitable[None]] | None = None,
) -> Window | None:
    """Stream the windows up to ``now − lag`` into the snapshot in pages; returns the last window.

    ``to_rows`` maps one record to (snapshot channel, row) pairs; it may return none (not ours).
    Pages are committed as they come (re-reading them after a crash costs nothing: unchanged hashes
    write nothing); the cursor moves only in the transaction of a window's last page. A long
    catch-up is cut into windows of ``max_window_s`` so progress survives an interruption.
    ``after_page`` runs after each committed page, so a large backlog is pushed while it is still
    being read (and a process that keeps dying mid-pull still makes progress).
    """
    last: Window | None = None
    async for window in due_windows(ctx, channel, flow, settings, counts):
        await _pull_one(ctx, channel, flow, entity, window, source, to_rows, counts, after_page, settings)
        last = window
    return last


async def _pull_one(
    ctx: MerchantContext,
    channel: str,
    flow: str,
    entity: str,
    window: Window,
    source: Callable[[Window], AsyncIterator[T]],
    to_rows: Callable[[T], list[tuple[str, Pulled]]],
    counts: CycleCounts,
    after_page: Callable[[], Awaitable[None]] | None,
    settings: CursorSettings,
) -> None:
    page: list[tuple[str, Pulled]] = []
    empty = True
    async for record in source(window):
        empty = False
        counts.pulled += 1
        page.extend(to_rows(record))
        if len(page) >= PAGE_ROWS:
            async with ctx.pool.acquire() as conn:
                counts.changed += await _store(ctx, conn, entity, page)
            page = []
            if after_page is not None:
                await after_page()
    if empty and ctx.quiet.cursor_may_stay(channel, flow, window.end, settings):
        return
    async with ctx.pool.acquire() as conn, conn.transaction():
        counts.changed += await _store(ctx, conn, entity, page)
        await ctx.cursors.advance(conn, channel, flow, window.end)
    ctx.quiet.cursor_moved(channel, flow, window.end)


async def _store(
    ctx: MerchantContext, conn: asyncpg.Connection, entity: str, page: list[tuple[str, Pulled]]
) -> int:
    by_channel: dict[str, list[Pulled]] = {}
    for channel, row in page:
        by_channel.setdefault(channel, []).append(row)
    changed = 0
    for channel, rows in by_channel.items():
        changed += len(await store_rows(ctx, conn, channel, entity, rows))
    return changed


async def store_rows(
    ctx: MerchantContext, conn: asyncpg.Connection, channel: str, entity: str, rows: list[Pulled]
) -> list[str]:
    """Upsert pulled rows; orders that changed get a ``pulled`` event (``ffn-sync trace``)."""
    now = ctx.clock.now()
    if entity != ENTITY_ORDER:
        return await ctx.snapshot.upsert_changed(conn, channel, entity, rows, now=now)
    shop = ctx.channels.get(channel)
    # Without compare-and-swap writes, the shop's own stock moves (checkout, payment, cancel) go unseen.
    watch = shop is not None and not shop.stock_cas and bool(rows)
    before = await _stock_fingerprints(conn, ctx.merchant_id, channel, rows) if watch else {}
    changed = await ctx.snapshot.upsert_changed(conn, channel, entity, rows, now=now)
    if not changed:
        return changed
    payloads = {row.external_id: row.payload for row in rows}
    events = [(order_id, history.PULLED, history.describe_pull(payloads[order_id])) for order_id in changed]
    await history.record(conn, ctx.merchant_id, channel, events, at=now)
    if watch:
        moved = [o for o in changed if before.get(o) != stock_fingerprint(payloads[o])]
        skus = {line.get("sku") for order_id in moved for line in payloads[order_id].get("lines") or []}
        await shop_moved(conn, ctx.merchant_id, channel, sorted(s for s in skus if s))
    return changed


def stock_fingerprint(payload: dict[str, Any]) -> tuple[Any, ...]:
    """What of an order can make a shop move its own stock: its lines, payment, status, cancellation."""
    lines = tuple((line.get("sku"), line.get("quantity")) for line in payload.get("lines") or [])
    return lines, payload.get("payment_state"), payload.get("shop_status"), payload.get("cancelled")


async def _stock_fingerprints(
    conn: asyncpg.Connection, merchant_id: str, channel: str, rows: list[Pulled]
) -> dict[str, tuple[Any, ...]]:
    known = await conn.fetch(
        "SELECT external_id, payload FROM snapshot WHERE merchant_id = $1 AND channel = $2 AND entity = $3"
        " AND external_id = ANY($4::text[])",
        merchant_id,
        channel,
        ENTITY_ORDER,
        [row.external_id for row in rows],
    )
    return {row["external_id"]: stock_fingerprint(row["payload"]) for row in known}


async def shop_moved(
    conn: asyncpg.Connection | asyncpg.Pool, merchant_id: str, channel: str, skus: list[str]
) -> None:
    """A shop moves its own stock when an order is placed, paid or cancelled, so what we last wrote there
    is no longer what it shows: forget it, and the next stock pass writes the target even if unchanged."""
    if skus:
        await conn.execute(
            "DELETE FROM shop_stock WHERE merchant_id = $1 AND channel = $2 AND sku = ANY($3::text[])",
            merchant_id,
            channel,
            skus,
        )
