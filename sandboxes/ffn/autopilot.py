"""A scripted fulfiller: ships pending outbounds after a while, a share of them partially first."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from aiohttp import web
from loguru import logger

from sandboxes.ffn.shipping import ShipError, ship
from sandboxes.ffn.world import World

_SHIPPABLE = ("Pending", "Acknowledged", "Locked", "Pickprocess", "PartiallyShipped")
TICK_S = 0.05


@dataclass
class Autopilot:
    ship_after_s: float | None = None  # None: off
    partial_ratio: float = 0.0
    seed: int = 0
    partially_shipped: set[str] = field(default_factory=set)
    _rng: random.Random = field(default_factory=lambda: random.Random(0))
    # Set while shipping is on: an idle merchant's loop sleeps on it (a fleet has a thousand of them).
    on: asyncio.Event = field(default_factory=asyncio.Event)

    def reset(self) -> None:
        self.ship_after_s, self.partial_ratio = None, 0.0
        self.partially_shipped.clear()
        self._rng = random.Random(0)
        self.on.clear()

    def configure(self, body: dict[str, Any]) -> None:
        unknown = set(body) - {"ship_after_s", "partial_ratio", "seed"}
        if unknown:
            raise ValueError(f"unknown autopilot keys: {sorted(unknown)}")
        self.ship_after_s = body.get("ship_after_s", self.ship_after_s)
        self.partial_ratio = float(body.get("partial_ratio", self.partial_ratio))
        if not 0.0 <= self.partial_ratio <= 1.0:
            raise ValueError("partial_ratio must be within 0..1")
        if "seed" in body:
            self._rng = random.Random(body["seed"])
        if self.ship_after_s is None:
            self.on.clear()
        else:
            self.on.set()

    def as_dict(self) -> dict[str, Any]:
        return {"ship_after_s": self.ship_after_s, "partial_ratio": self.partial_ratio}

    def tick(self, world: World) -> int:
        """Ship what is due now; returns the number of shipping notifications created."""
        if self.ship_after_s is None:
            return 0
        shipped = 0
        now = world.now()
        for outbound in list(world.outbounds.values()):
            if outbound["status"] not in _SHIPPABLE:
                continue
            changed = datetime.fromisoformat(outbound["modificationInfo"]["updatedAt"])
            if (now - changed).total_seconds() < self.ship_after_s:
                continue
            lines = None
            first_time = outbound["outboundId"] not in self.partially_shipped
            if first_time and self._rng.random() < self.partial_ratio:
                lines = _first_part(outbound)
                self.partially_shipped.add(outbound["outboundId"])
            try:
                ship(world, outbound, lines=lines, packages=1, tracking=True)
                shipped += 1
            except ShipError as exc:
                logger.warning("sandbox autopilot could not ship {}: {}", outbound["outboundId"], exc)
        return shipped


def _first_part(outbound: dict[str, Any]) -> list[dict[str, Any]] | None:
    items = [i for i in outbound["items"] if i.get("jfsku") and Decimal(i["quantityOpen"]) > 0]
    splittable = [i for i in items if Decimal(i["quantityOpen"]) >= 2]
    if splittable:
        return [{"jfsku": i["jfsku"], "quantity": str(Decimal(i["quantityOpen"]) // 2)} for i in splittable]
    if len(items) > 1:
        return [{"jfsku": items[0]["jfsku"], "quantity": str(items[0]["quantityOpen"])}]
    return None  # a single unit cannot ship partially


def background(world: World, pilot: Autopilot) -> Any:
    async def run(app: web.Application) -> AsyncIterator[None]:
        async def loop() -> None:
            while True:
                await pilot.on.wait()
                await asyncio.sleep(TICK_S)
                pilot.tick(world)

        task = asyncio.create_task(loop())
        yield
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass

    return run
