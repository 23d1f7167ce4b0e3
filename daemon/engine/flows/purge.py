"""Purge: personal data does not stay forever (GDPR).

An order is closed when FFN shipped or cancelled it, when it was cancelled in the shop before it reached
FFN, or when it was skipped for good (not to be exported). ``personal_data_days`` after the job first saw
it closed, its payload loses the shipping address (all but the country), e-mail, phone and note. Ids,
hashes, states, lines and totals stay, so nothing is exported again and every report still adds up. An
order the shop changes later is pulled afresh (with its data) and, when it closes again, purged again.
"""

from __future__ import annotations

from datetime import timedelta

from loguru import logger

from daemon.engine.context import MerchantContext
from daemon.engine.cycle import CycleCounts

# Orders that wait (held, unpaid: skipped with reason "waiting") may still be exported: not closed.
_CLOSED = """(
    s.remote_status IN ('Shipped', 'Canceled')
    OR (s.remote_status IS NULL AND (s.payload->>'cancelled')::boolean)
    OR (s.state = 'skipped' AND s.reason_code IS DISTINCT FROM 'waiting')
)"""

_MARK_CLOSED = f"""
UPDATE snapshot s SET closed_at = $2
WHERE s.merchant_id = $1 AND s.entity = 'order' AND s.closed_at IS NULL AND {_CLOSED}
"""
# Reopened (e.g. edited in the shop and pulled again): the clock starts over when it closes again.
_REOPENED = f"""
UPDATE snapshot s SET closed_at = NULL, personal_data_purged_at = NULL
WHERE s.merchant_id = $1 AND s.entity = 'order' AND s.closed_at IS NOT NULL AND NOT {_CLOSED}
"""
_PURGE = f"""
UPDATE snapshot s SET personal_data_purged_at = $3,
    payload = s.payload || jsonb_build_object(
        'email', NULL, 'phone', NULL, 'note', NULL,
        'shipping_address', CASE WHEN jsonb_typeof(s.payload->'shipping_address') = 'object'
            THEN jsonb_build_object('country_code', s.payload->'shipping_address'->'country_code')
            ELSE 'null'::jsonb END)
WHERE s.merchant_id = $1 AND s.entity = 'order' AND s.closed_at < $2 AND s.personal_data_purged_at IS NULL
  AND {_CLOSED}
"""


async def run(ctx: MerchantContext, counts: CycleCounts) -> None:
    now = ctx.clock.now()
    days = ctx.settings.personal_data_days
    async with ctx.pool.acquire() as conn, conn.transaction():
        await conn.execute(_REOPENED, ctx.merchant_id)
        await conn.execute(_MARK_CLOSED, ctx.merchant_id, now)
        purged = int(
            (await conn.execute(_PURGE, ctx.merchant_id, now - timedelta(days=days), now)).split()[-1]
        )
    counts.changed += purged
    if purged:
        logger.info("removed personal data from {} order(s) closed more than {} days ago", purged, days)
