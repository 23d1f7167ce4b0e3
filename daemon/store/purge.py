"""The personal-data purge's queries (see ``daemon.engine.flows.purge`` for the rule)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from daemon.store.snapshot import REASON_WAITING

# Orders that wait (held, unpaid: skipped with reason "waiting") may still be exported: not closed.
_CLOSED = f"""(
    s.remote_status IN ('Shipped', 'Canceled')
    OR (s.remote_status IS NULL AND (s.payload->>'cancelled')::boolean)
    OR (s.state = 'skipped' AND s.reason_code IS DISTINCT FROM '{REASON_WAITING}')
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


async def purge_closed_orders(
    pool: asyncpg.Pool, merchant_id: str, *, now: datetime, closed_before: datetime
) -> int:
    """Note which orders closed (or reopened) as of ``now``; strip the personal data of those closed before
    ``closed_before``. Returns how many orders were purged."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(_REOPENED, merchant_id)
        await conn.execute(_MARK_CLOSED, merchant_id, now)
        result = await conn.execute(_PURGE, merchant_id, closed_before, now)
    return int(result.split()[-1])
