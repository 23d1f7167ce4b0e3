"""What the shop contract suite needs from each adapter: one driver per kind.

A driver starts its shop (the real sandbox in-process, or the engine's fake), builds the channel as the
wiring does, changes the world behind the channel's back (through the sandbox's ``/_sandbox/`` control
API; where that has no route for it — deleting an order for good, breaking one — through the sandbox's
state), interferes with the wire, and reads back what the shop holds in one shape for every shop.
An adapter added later gets the whole suite by adding one driver to ``SHOP_DRIVERS``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from daemon.clock import FakeClock
from daemon.model import OrderRef, ShopStock
from daemon.ports import ItemFailure, ShopChannel
from sandboxes.kit.kit import KIT_KEY, SandboxKit
from sandboxes.kit.requestlog import LoggedExchange
from sandboxes.world.shops import SHOPS
from tests.contracts.drivers.wire import TAMPERED, Wire

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
STATUS_TAG = "ffn-cancelled"


@dataclass(frozen=True)
class Shipped:
    """What the shop shows of the shipments applied to one order."""

    trackings: tuple[str, ...]  # every tracking number the order carries, in the order they came
    complete: bool  # the shop considers the order fully shipped


@dataclass(frozen=True)
class OrderState:
    cancelled: bool
    tags: tuple[str, ...]
    notes: str  # every note the shop keeps on the order (merchant-only notes included), joined


@dataclass
class ShopDriver(ABC):
    kind: str
    label: str = ""  # the suite's parameter id: the kind, and the version where several are run
    clock: FakeClock = field(default_factory=lambda: FakeClock(START))
    # Shopware 6.6 has no internal comment: the fulfiller's note rides only on the cancel transition.
    keeps_notes: bool = True
    # How the adapter words "this order is gone" for the operator (the engine decides on the type only).
    gone_wording: str = "no longer exists"

    @property
    def over_http(self) -> bool:
        """False for the fake: rate limits and malformed answers do not exist there."""
        return True

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    def channel(self, *, page_size: int | None = None) -> ShopChannel: ...

    @abstractmethod
    def channel_with_wrong_secret(self) -> tuple[ShopChannel, str]:
        """A channel whose credential the shop rejects, and that credential's secret value."""

    @abstractmethod
    async def product(self, sku: str) -> None: ...

    @abstractmethod
    async def order(self, lines: Sequence[tuple[str, int]], *, paid: bool = True) -> OrderRef:
        """A new order at the clock's time."""

    @abstractmethod
    async def edit(self, ref: OrderRef) -> None:
        """The merchant edits the order (a note): it counts as changed now."""

    @abstractmethod
    async def cancel(self, ref: OrderRef) -> None:
        """The merchant cancels the order in the shop."""

    @abstractmethod
    async def make_unreadable(self, ref: OrderRef) -> str:
        """The order stays but can no longer be mapped (its readable lines stay readable); returns the
        reason the adapter must give (``UnreadableOrder.of`` wording, the mapping's own detail)."""

    @abstractmethod
    async def delete(self, ref: OrderRef) -> None:
        """The order is gone for good."""

    @abstractmethod
    def fail_every_call(self, status: int) -> None:
        """Every vendor answer from now on is ``status`` (``0``: answer normally again)."""

    @abstractmethod
    async def shipped(self, ref: OrderRef) -> Shipped: ...

    @abstractmethod
    async def order_state(self, ref: OrderRef) -> OrderState: ...

    @abstractmethod
    async def stock(self) -> dict[str, int | None]: ...

    @abstractmethod
    async def refused_item(self) -> tuple[ShopStock, ItemFailure]:
        """A stock write this shop refuses for one item of its own (not an unknown SKU)."""

    @abstractmethod
    def writes(self) -> int:
        """Writes the shop has received so far."""

    def reads(self) -> int:
        return 0


@dataclass
class SandboxDriver(ShopDriver):
    """The common part of the drivers of real sandboxes (``sandboxes/<kind>``)."""

    wire: Wire = field(default_factory=Wire)
    app: web.Application | None = None
    server: TestServer | None = None
    session: aiohttp.ClientSession | None = None
    channels: list[ShopChannel] = field(default_factory=list)

    @abstractmethod
    def create_app(self) -> web.Application: ...

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    @property
    def kit(self) -> SandboxKit:
        assert self.app is not None
        return self.app[KIT_KEY]

    async def start(self) -> None:
        self.app = self.create_app()
        self.wire.install(self.app)
        self.server = TestServer(self.app, host="127.0.0.1")
        await self.server.start_server()
        self.session = aiohttp.ClientSession()

    async def close(self) -> None:
        for channel in self.channels:
            await channel.aclose()
        if self.session is not None:
            await self.session.close()
        if self.server is not None:
            await self.server.close()
        self.check_traffic([e for e in self.vendor_traffic() if TAMPERED not in e.response_headers])

    def check_traffic(self, exchanges: list[LoggedExchange]) -> None:
        """Validate the adapter's traffic against the vendor's spec, where the repository carries one."""

    def track(self, channel: ShopChannel) -> ShopChannel:
        self.channels.append(channel)
        return channel

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        assert self.session is not None
        async with self.session.request(method, f"{self.url}/_sandbox/{path}", json=body) as response:
            text = await response.text()
            assert response.status < 300, f"control {method} {path}: {response.status} {text}"
            return await response.json() if text else None

    def vendor_traffic(self) -> list[LoggedExchange]:
        return self.kit.log.entries()

    def fail_every_call(self, status: int) -> None:
        if status:
            self.wire.fail_always(status)
        else:
            self.wire.clear()

    def writes(self) -> int:
        is_write = SHOPS[self.kind].is_write
        return sum(1 for e in self.vendor_traffic() if e.status < 400 and is_write(e.as_dict()))

    def reads(self) -> int:
        is_read = SHOPS[self.kind].is_read
        return sum(1 for e in self.vendor_traffic() if is_read(e.as_dict()))

    async def stock(self) -> dict[str, int | None]:
        return dict(await self.control("GET", "stock"))
