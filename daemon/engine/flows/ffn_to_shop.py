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


LOOKUP_CHUNK = 100  # FFN records looked up together: one statement instead of one per outbound


async def located_chunks(
    cycle: Cycle, feed: AsyncIterator[F]
) -> AsyncIterator[list[tuple[F, OrderLocation | None]]]:
    """The feed's records in chunks, each with the shop order behind its outbound (one lookup per chunk)."""
    chunk: list[F] = []
    async for record in feed:
        chunk.append(record)
        if len(chunk) >= LOOKUP_CHUNK:
            yield await _locate(cycle, chunk)
            chunk = []
    if chunk:
        yield await _locate(cycle, chunk)


async def located(cycle: Cycle, feed: AsyncIterator[F]) -> AsyncIterator[tuple[F, OrderLocation | None]]:
    """Each FFN record with the shop order behind its outbound (None: an outbound we did not create)."""
    async for chunk in located_chunks(cycle, feed):
        for pair in chunk:
            yield pair


async def _locate(cycle: Cycle, records: list[F]) -> list[tuple[F, OrderLocation | None]]:
    known = cycle.located
    unknown = sorted({r.outbound_id for r in records if r.outbound_id not in known})
    if unknown:
        found = await cycle.ctx.snapshot.locate_orders(unknown)
        known.update((outbound, found.get(outbound)) for outbound in unknown)
    return [(r, known[r.outbound_id]) for r in records]


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
