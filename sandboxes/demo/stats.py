"""Numbers for the summaries: percentiles, latencies from the snapshot, and counts from the database."""

from __future__ import annotations

import math
from collections.abc import Sequence

import asyncpg

# Seconds from the record's appearance at its source to its successful push to the other side.
_LATENCIES = """
SELECT extract(epoch FROM pushed_at - source_created_at)::float8 AS seconds
FROM snapshot
WHERE merchant_id = $1 AND entity = $2 AND state = 'synced'
  AND pushed_at IS NOT NULL AND source_created_at IS NOT NULL
"""
_DEAD_LETTERS = """
SELECT entity, coalesce(reason_code, '?') AS reason, count(*) AS n
FROM snapshot WHERE merchant_id = $1 AND state = 'failed'
GROUP BY 1, 2 ORDER BY 3 DESC
"""


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile (``share`` in 0..1); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


async def snapshot_latencies(pool: asyncpg.Pool, merchant_id: str, entity: str) -> list[float]:
    rows = await pool.fetch(_LATENCIES, merchant_id, entity)
    return [max(0.0, float(row["seconds"])) for row in rows]


async def dead_letters(pool: asyncpg.Pool, merchant_id: str) -> list[tuple[str, str, int]]:
    rows = await pool.fetch(_DEAD_LETTERS, merchant_id)
    return [(row["entity"], row["reason"], int(row["n"])) for row in rows]
