"""What a flow is. Every flow is declared once, as a ``Flow`` record listed in
``daemon.engine.flows.registry.FLOWS``; the jobs, the reports (``status``, ``failed``) and ``resync`` read
names and properties from that list.

A queue flow is read and written by the generic cycle (``daemon.engine.cycle.sync``):

    for each delta window after the cursor:    source(cycle, window) → records      (pull.py)
        page by page:                          rows(cycle, record) → snapshot rows  (or ``store``: its own table)
        the window's last page and the cursor move in one transaction
    claim the due rows of ``entity``:          handler(cycle, row) → outcome        (push.py)

Flows that are not "pull, then push from the queue" (a shop's stock write, reconcile, purge) give a ``body``
instead. Handlers are module-level functions of the flow's module; what one cycle shares between them (the
merchant's context, the channel, the counts, a SKU lookup) is the ``Cycle`` they are given.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

import asyncpg

from daemon.engine.context import FFN_CHANNEL, MerchantContext
from daemon.engine.settings import ChannelSettings, CursorSettings
from daemon.engine.skus import JfskuCache
from daemon.model import Window
from daemon.store.snapshot import Claimed, OrderLocation, Pulled

R = TypeVar("R")

# What a handler did with one claimed row; push.py counts them.
PUSHED = "pushed"
SKIPPED = "skipped"
WAITING = "waiting"
FAILED = "failed"


class Scope(StrEnum):
    CHANNEL = "channel"  # one job per shop channel; cursor and health keyed by the channel
    MERCHANT = "merchant"  # one job per merchant; cursor and health keyed "ffn"


_COUNTS = ("pulled", "changed", "pushed", "skipped", "failed", "retried")


@dataclass
class CycleCounts:
    pulled: int = 0
    changed: int = 0
    pushed: int = 0
    skipped: int = 0
    failed: int = 0
    retried: int = 0
    lag_s: float | None = None

    def quiet(self) -> bool:
        """Nothing read, written, skipped or failed: the cycle had nothing to report."""
        return not (self.pulled or self.changed or self.pushed or self.skipped or self.failed or self.retried)

    # Plain dicts built by hand: ``dataclasses.asdict`` deep-copies field by field, twice per cycle of
    # every flow of a fleet.
    def as_dict(self) -> dict[str, Any]:
        """What ``flow_health.last_counts`` stores: every count, the lag when known."""
        counts: dict[str, Any] = {name: getattr(self, name) for name in _COUNTS}
        if self.lag_s is not None:
            counts["lag_s"] = self.lag_s
        return counts

    def nonzero(self) -> dict[str, int]:
        """The counts that moved (the observer's record counters)."""
        return {name: value for name in _COUNTS if (value := getattr(self, name))}

    def summary(self) -> str:
        lag = "-" if self.lag_s is None else f"{self.lag_s:.0f}s"
        return (
            f"pulled={self.pulled} changed={self.changed} pushed={self.pushed} skipped={self.skipped}"
            f" failed={self.failed} retried={self.retried} lag={lag}"
        )


@dataclass
class Cycle:
    """One run of one flow: what its handlers share."""

    ctx: MerchantContext
    channel: ChannelSettings | None  # the shop channel of a channel-scoped flow
    counts: CycleCounts
    skus: JfskuCache = field(init=False)  # SKU → jfsku, each looked up once per push pass (push.py)
    learnt: int = 0  # SKU ⇄ jfsku pairs this cycle added or changed (products)
    located: dict[str, OrderLocation | None] = field(
        default_factory=dict
    )  # outbound → order (shipments, status)
    prepared: dict[str, Any] = field(default_factory=dict)  # external id → what a flow's prepare worked out

    def __post_init__(self) -> None:
        self.skus = JfskuCache(self.ctx.pool, self.ctx.merchant_id)

    @property
    def key(self) -> str:
        """The channel this cycle's cursor and health are kept under."""
        return self.channel.name if self.channel is not None else FFN_CHANNEL

    @property
    def shop(self) -> ChannelSettings:
        if self.channel is None:
            raise TypeError("a merchant-scoped flow has no channel")
        return self.channel


Source = Callable[[Cycle, Window], AsyncIterator[R]]
# The reader of one long window (a large catch-up) for this cycle's channel, or None when it has none.
CatchUp = Callable[[Cycle], Source[R] | None]
Rows = Callable[[Cycle, R], list[tuple[str, Pulled]]]  # (snapshot channel, row); none: not ours
Store = Callable[[Cycle, asyncpg.Connection, list[R]], Awaitable[int]]  # a page into its own table
Handler = Callable[[Cycle, Claimed], Awaitable[str]]
BatchStep = Callable[[Cycle, list[Claimed]], Awaitable[None]]
Step = Callable[[Cycle], Awaitable[None]]


@dataclass(frozen=True)
class Flow(Generic[R]):
    name: str
    scope: Scope
    entity: str | None = None  # the snapshot rows it queues (``status`` counts their backlog)
    cursor: bool = False  # reads delta windows after a cursor (``resync`` can move it back)
    source: Source[R] | None = None
    catch_up: CatchUp[R] | None = None  # used instead of ``source`` past ``CursorSettings.catch_up_after_s``
    rows: Rows[R] | None = None  # records → snapshot rows …
    store: Store[R] | None = None  # … or the flow's own table
    handler: Handler | None = None
    prepare: BatchStep | None = (
        None  # sees each claimed batch before its handlers (e.g. one intent statement)
    )
    after_push: Step | None = None
    body: Step | None = None  # instead of source/rows/handler
    page_size: int = 250
    push_while_reading: bool = False  # push after each page: a large backlog moves while it is read
    master_only: bool = False  # only the merchant's product-master channel runs it
    phase: int = 0  # ``once`` runs phase 0 before phase 1
    # It writes what the shops' stock targets are computed from (FFN levels, orders and their states): a
    # cycle that wrote or failed makes the merchant's shops compare (``engine.stock_changes``).
    moves_stock: bool = False
    # Run mostly by triggers, its interval only a safety net: backoff grows from this instead.
    retry_s: float | None = None

    def cursor_settings(self, cycle: Cycle) -> CursorSettings:
        return cycle.shop.cursor if self.scope is Scope.CHANNEL else cycle.ctx.settings.ffn_cursor

    def queues(self, cycle: Cycle) -> list[str]:
        """The snapshot channels whose rows this flow's handler sends (FFN-side flows: every shop's)."""
        return [cycle.shop.name] if self.scope is Scope.CHANNEL else list(cycle.ctx.channels)

    def runs_for(self, cycle_channel: ChannelSettings, product_master: str | None) -> bool:
        return not self.master_only or product_master == cycle_channel.name


AnyFlow = Flow[Any]
