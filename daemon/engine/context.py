"""Everything a flow of one merchant needs, built once by the wiring."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from daemon.clock import SYSTEM_CLOCK, Clock
from daemon.engine.cursors import OverlapSchedule
from daemon.engine.nudges import Nudges
from daemon.engine.observer import NullObserver, Observer
from daemon.engine.quiet import QuietWrites
from daemon.engine.settings import MerchantSettings
from daemon.engine.stock_changes import StockChanges
from daemon.ports import Fulfiller, ShopChannel
from daemon.store.progress import Cursors, QuietHealth
from daemon.store.snapshot import Snapshot

FFN_CHANNEL = "ffn"  # the cursor/health key of merchant-level flows that read FFN feeds


@dataclass
class MerchantContext:
    settings: MerchantSettings
    pool: asyncpg.Pool
    fulfiller: Fulfiller
    channels: Mapping[str, ShopChannel]
    clock: Clock = SYSTEM_CLOCK
    observer: Observer = field(default_factory=NullObserver)
    snapshot: Snapshot = field(init=False)
    cursors: Cursors = field(init=False)
    stock_changes: StockChanges = field(
        init=False
    )  # when each shop's stock is compared (engine.stock_changes)
    overlaps: OverlapSchedule = field(default_factory=OverlapSchedule)
    quiet: QuietWrites = field(default_factory=QuietWrites)
    # Quiet cycles' health rows, shared by the process' merchants and written together (None: at once).
    quiet_health: QuietHealth | None = None
    nudges: Nudges = field(default_factory=Nudges)  # webhook deliveries: read up to now (engine.nudges)
    # Per channel, orders the reconcile re-read at a newer change time and found unchanged (the snapshot
    # keeps their older time): it does not read them again at that version (flows.reconcile).
    reconciled: dict[str, dict[str, datetime]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.snapshot = Snapshot(self.pool, self.settings.merchant_id)
        self.cursors = Cursors(self.pool, self.settings.merchant_id, self.clock)
        shops = [c.name for c in self.settings.channels if c.name in self.channels]
        self.stock_changes = StockChanges(shops, self.clock)

    @property
    def merchant_id(self) -> str:
        return self.settings.merchant_id
