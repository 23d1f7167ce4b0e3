"""The step shipments and status share: an FFN record about one of our outbounds becomes a queued row
of the shop order behind it, and a claimed row is written back to that shop and settled."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Protocol, TypeVar

from daemon.engine.codec import content_hash, to_payload
from daemon.engine.flow import Cycle
from daemon.model import OrderRef
from daemon.store.snapshot import Claimed, OrderLocation, Pulled


class AboutAnOutbound(Protocol):
    @property
    def outbound_id(self) -> str: ...


F = TypeVar("F", bound=AboutAnOutbound)
Located = tuple[F, OrderLocation | None]  # None: an outbound ffn-sync did not create


async def located(cycle: Cycle, feed: AsyncIterator[F]) -> AsyncIterator[tuple[F, OrderLocation | None]]:
    """Each FFN record with the shop order behind its outbound (looked up once per outbound)."""
    known: dict[str, OrderLocation | None] = {}
    async for record in feed:
        if record.outbound_id not in known:
            known[record.outbound_id] = await cycle.ctx.snapshot.locate_order(record.outbound_id)
        yield record, known[record.outbound_id]


def shop_row(
    target: OrderLocation, key: str, kind: str, record: AboutAnOutbound, at: datetime | None
) -> tuple[str, Pulled]:
    """The record queued under the order's shop channel, with what the write-back needs of the order."""
    payload = {kind: to_payload(record), "order_id": target.order_id, "number": target.number}
    return target.channel, Pulled(key, payload, content_hash(payload), target.number, at)


def order_of(item: Claimed) -> OrderRef:
    return OrderRef(item.payload["order_id"], item.payload["number"])


async def settle(cycle: Cycle, item: Claimed) -> None:
    """Written to the shop: recorded before the cycle's cursor moves on, so applying twice is a no-op."""
    await cycle.ctx.snapshot.done(item, now=cycle.ctx.clock.now())
