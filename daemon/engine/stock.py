"""Sellable stock per shop: the formula (reservations.py) written to every shop, only changed values."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime, timedelta

import asyncpg
from loguru import logger

from daemon.engine.context import MerchantContext
from daemon.engine.cycle import CycleCounts
from daemon.engine.reservations import reread_changed_orders
from daemon.engine.settings import ChannelSettings
from daemon.errors import RetryableError, SyncError
from daemon.model import ShopStock, StockLevel
from daemon.ports import ItemFailure, ItemResult
from daemon.store import stock as stock_store
from daemon.store.skus import remember

# Failures that are the shop's choice, not trouble: settled, and reported once a day at INFO.
NOT_SOLD_HERE = frozenset({ItemFailure.UNKNOWN_SKU, ItemFailure.NOT_MANAGED})
REPORT_EVERY = timedelta(days=1)
REREAD_DEADLINE_S = 90.0  # re-reading a shop's newest orders before its stock write


async def store_levels(
    ctx: MerchantContext,
    conn: asyncpg.Connection,
    levels: Iterable[StockLevel],
    *,
    authoritative: bool = False,
) -> int:
    """Record FFN levels (newest version wins unless ``authoritative``) on ``conn``; returns how many changed."""
    latest: dict[str, StockLevel] = {}
    for level in levels:
        known = latest.get(level.jfsku)
        if known is None or (level.version or 0) >= (known.version or 0):
            latest[level.jfsku] = level
    if not latest:
        return 0
    values = list(latest.values())
    async with conn.transaction():
        await remember(conn, ctx.merchant_id, [(v.merchant_sku, v.jfsku) for v in values if v.merchant_sku])
        return await stock_store.store_levels(conn, ctx.merchant_id, values, authoritative=authoritative)


STOCK_PAGE = 250  # SKUs per write call: each page is settled before the next, under its own deadline


async def push_to_shops(ctx: MerchantContext, counts: CycleCounts) -> None:
    """Every shop in turn (in-process callers); the daemon runs ``push_to_shop`` as one job per shop.

    A shop that fails does not keep stock from the others; the first failure is raised at the end.
    """
    first: SyncError | None = None
    for settings in ctx.settings.channels:
        try:
            await push_to_shop(ctx, settings, counts)
        except SyncError as exc:
            first = first or exc
    if first is not None:
        raise first


async def push_to_shop(ctx: MerchantContext, settings: ChannelSettings, counts: CycleCounts) -> None:
    """Write every changed target quantity to one shop, a page at a time.

    A shop without compare-and-swap writes gets its orders re-read first (only when something is to be
    written), so an order placed there since the last orders pull is not overwritten; orders of the other
    shops are read by their own orders flows (a hung shop must not hold up this one's stock).
    A shop that fails as a whole (down, hung, credentials revoked, the write refused) raises: this shop's
    job fails and backs off, the other shops' jobs are not affected. Pages already written stay settled.
    """
    name = settings.name
    shop = ctx.channels.get(name)
    if shop is None:
        return
    rows = await _changed(ctx, name, settings.stock_buffer)
    if not rows:
        return
    cas = shop.stock_cas
    if not cas:
        deadline = float(getattr(shop, "deadline_s", REREAD_DEADLINE_S))
        try:
            async with asyncio.timeout(deadline):
                unread = await reread_changed_orders(ctx, [name], counts)
        except TimeoutError:
            raise RetryableError(f"re-reading the new orders of {name} took over {deadline:g}s") from None
        if unread:
            return  # counted and logged by the re-read; the next pass writes, with the orders
        rows = await _changed(ctx, name, settings.stock_buffer)
    for start in range(0, len(rows), STOCK_PAGE):
        page = rows[start : start + STOCK_PAGE]
        try:
            conflicts = await _write(ctx, name, page, counts, retry_transient=cas)
        except SyncError:
            counts.failed += len(rows) - start - len(page)  # the pages not tried
            raise
        if conflicts:
            # A compare-and-swap shop refused values over quantities that moved since it last looked (a
            # sale): read its new orders so they count, recompute, and write those SKUs once more.
            if name not in await reread_changed_orders(ctx, [name], counts):
                # What we last wrote there is not what the shop shows any more, whatever the new target.
                await stock_store.forget_written(ctx.pool, ctx.merchant_id, name, sorted(conflicts))
                again = [r for r in await _changed(ctx, name, settings.stock_buffer) if r["sku"] in conflicts]
                if again:
                    await _write(ctx, name, again, counts, retry_transient=False)


async def _changed(ctx: MerchantContext, channel: str, buffer: int) -> list[asyncpg.Record]:
    return await stock_store.changed_targets(ctx.pool, ctx.merchant_id, channel, buffer)


async def _write(
    ctx: MerchantContext, name: str, rows: list[asyncpg.Record], counts: CycleCounts, *, retry_transient: bool
) -> set[str]:
    """Write one page of a shop's changed targets; returns the SKUs that failed transiently and are left to
    the caller's retry when ``retry_transient``. The shop failing as a whole raises (its job reports it)."""
    wanted = [ShopStock(sku=row["sku"], quantity=row["quantity"]) for row in rows]
    try:
        results = await ctx.channels[name].set_stock(wanted)
    except SyncError:
        counts.failed += len(wanted)
        raise
    quantity = {s.sku: s.quantity for s in wanted}
    known = {row["sku"]: row for row in rows}
    now = ctx.clock.now()
    settled: list[tuple[str, int, str | None, datetime | None]] = []  # (sku, quantity, failure, reported_at)
    not_sold: dict[ItemFailure, list[ItemResult]] = {}
    retry: set[str] = set()
    for result in results:
        if result.ok:
            counts.pushed += 1
            settled.append((result.key, quantity[result.key], None, None))
        elif result.reason in NOT_SOLD_HERE:
            counts.skipped += 1
            last = known[result.key]["reported_at"] if result.key in known else None
            due_report = last is None or now - last >= REPORT_EVERY
            if due_report:
                not_sold.setdefault(result.reason, []).append(result)
            settled.append(
                (result.key, quantity[result.key], result.reason.value, now if due_report else None)
            )
        elif retry_transient and result.reason in (None, ItemFailure.TRANSIENT):
            retry.add(result.key)
            logger.debug(
                "stock for SKU {} to {} retried after re-reading orders: {}", result.key, name, result.error
            )
        else:
            # Refused or transient: not settled, so it is sent again next cycle.
            counts.failed += 1
            reason = result.reason or ItemFailure.TRANSIENT
            logger.warning(
                "stock for SKU {} not written to {} ({}): {}", result.key, name, reason.value, result.error
            )
    for reason, items in not_sold.items():
        what = "sells no product with" if reason is ItemFailure.UNKNOWN_SKU else "keeps no stock for"
        logger.info(
            "{} {} {} SKU(s), stock not written (reported once a day): {}",
            name,
            what,
            len(items),
            "; ".join(r.error or r.key for r in items[:20]),
        )
    await stock_store.settle_written(ctx.pool, ctx.merchant_id, name, settled)
    return retry
