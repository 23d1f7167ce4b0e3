"""What the scenarios read back from a stage: synced orders in the database, sandbox traffic."""

from __future__ import annotations

from typing import Any

from sandboxes.world.control import Control
from sandboxes.world.stage import Stage

STOCK_LEVEL = 1_000_000  # never the bottleneck: oversale is off, so short stock would park orders


async def synced_orders(stage: Stage) -> int:
    value = await stage.pool.fetchval(
        "SELECT count(*) FROM snapshot WHERE entity = 'order' AND state = 'synced' AND remote_id IS NOT NULL"
    )
    return int(value or 0)


async def forget_cursors(stage: Stage) -> None:
    """Make the next run re-read everything, as after a lost cursor or ``resync``: the snapshot stays."""
    await stage.pool.execute("DELETE FROM cursors")


async def log_position(control: Control) -> int:
    """The request log's last sequence number: traffic after it belongs to what runs next."""
    answer: Any = await control.get("requests?since=999999999999")
    return int(answer["last_seq"])


async def traffic(control: Control, since: int) -> list[dict[str, Any]]:
    _, entries = await control.requests(since)
    return entries
