"""Sellable stock per shop: the formula (reservations.py) written to every shop, only changed values."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import timedelta

import asyncpg
from loguru import logger

from daemon.engine.context import MerchantContext
from daemon.engine.cycle import CycleCounts
from daemon.engine.pull import shop_moved
from daemon.engine.reservations import CHANGED_TARGETS, reread_changed_orders
from daemon.engine.settings import ChannelSettings
from daemon.engine.skus import remember
from daemon.errors import RetryableError, SyncError
from daemon.model import ShopStock, StockLevel
from daemon.ports import ItemFailure, ItemResult

_UPSERT_LEVELS = """
INSERT INTO ffn_stock AS f (merchant_id, jfsku, sku, available, reserved, blocked, version, updated_at)
SELECT $1, u.jfsku, u.sku, u.available, u.reserved, u.blocked, u.version, now()
FROM unnest($2::text[], $3::text[], $4::numeric[], $5::numeric[], $6::numeric[], $7::bigint[])
     AS u(jfsku, sku, available, reserved, blocked, version)
ON CONFLICT (merchant_id, jfsku) DO UPDATE SET
    sku = coalesce(excluded.sku, f.sku), available = excluded.available, reserved = excluded.reserved,
    blocked = excluded.blocked, version = coalesce(excluded.version, f.version), updated_at = now()
WHERE ($8 OR f.version IS NULL OR excluded.version IS NULL OR excluded.version > f.version)
  AND (f.available, f.reserved, f.blocked, f.sku) IS DISTINCT FROM
      (excluded.available, excluded.reserved, excluded.blocked, coalesce(excluded.sku, f.sku))
RETURNING jfsku
"""

# What the shop was told, or (failure set) that it does not keep this SKU's stock; either way the value
# is not sent again until the target changes.
_SETTLE = """
INSERT INTO shop_stock AS p (merchant_id, channel, sku, quantity, failure, reported_at)
SELECT $1, $2, u.sku, u.quantity, u.failure, u.reported_at
FROM unnest($3::text[], $4::int[], $5::text[], $6::timestamptz[]) AS u(sku, quantity, failure, reported_at)
ON CONFLICT (merchant_id, channel, sku) DO UPDATE SET quantity = excluded.quantity, pushed_at = now(),
    failure = excluded.failure, reported_at = coalesce(excluded.reported_at, p.reported_at)
"""

# Failures that are the shop's choice, not trouble: settled, and reported once a day at INFO.
NOT_SOLD_HERE = frozenset({ItemFailure.UNKNOWN_SKU, ItemFailure.NOT_MANAGED})
REPORT_EVERY = timedelta(days=1)
REREAD_DEADLINE_S = 90.0  # re-reading a shop's newest orders before its stock write


async def store_levels(
    ctx: MerchantContext, levels: Iterable[StockLevel], *, authoritative: bool = False
) -> int:
    """Record FFN levels (newest version wins unless ``authoritative``); returns how many changed."""
    latest: dict[str, StockLevel] = {}
    for level in levels:
        known = latest.get(level.jfsku)
        if known is None or (level.version or 0) >= (known.version or 0):
            latest[level.jfsku] = level
    if not latest:
        return 0
    values = list(latest.values())
    async with ctx.pool.acquire() as conn, conn.transaction():
        await remember(conn, ctx.merchant_id, [(v.merchant_sku, v.jfsku) for v in values if v.merchant_sku])
        rows = await conn.fetch(
            _UPSERT_LEVELS,
            ctx.merchant_id,
            [v.jfsku for v in values],
            [v.merchant_sku for v in values],
            [v.available for v in values],
            [v.reserved for v in values],
            [v.blocked for v in values],
            [v.version for v in values],
            authoritative,
        )
    return len(rows)


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
                await shop_moved(ctx.pool, ctx.merchant_id, name, sorted(conflicts))
                again = [r for r in await _changed(ctx, name, settings.stock_buffer) if r["sku"] in conflicts]
                if again:
                    await _write(ctx, name, again, counts, retry_transient=False)


async def _changed(ctx: MerchantContext, channel: str, buffer: int) -> list[asyncpg.Record]:
    return list(await ctx.pool.fetch(CHANGED_TARGETS, ctx.merchant_id, channel, buffer))


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
    settled: list[tuple[str, str | None, object]] = []  # (sku, failure, reported_at)
    not_sold: dict[ItemFailure, list[ItemResult]] = {}
    retry: set[str] = set()
    for result in results:
        if result.ok:
            counts.pushed += 1
            settled.append((result.key, None, None))
        elif result.reason in NOT_SOLD_HERE:
            counts.skipped += 1
            last = known[result.key]["reported_at"] if result.key in known else None
            due_report = last is None or now - last >= REPORT_EVERY
            if due_report:
                not_sold.setdefault(result.reason, []).append(result)
            settled.append((result.key, result.reason.value, now if due_report else None))
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
    if settled:
        await ctx.pool.execute(
            _SETTLE,
            ctx.merchant_id,
            name,
            [s[0] for s in settled],
            [quantity[s[0]] for s in settled],
            [s[1] for s in settled],
            [s[2] for s in settled],
        )
    return retry
