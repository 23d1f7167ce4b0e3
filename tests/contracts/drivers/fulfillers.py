"""What the fulfiller contract suite needs: one driver for the FFN adapter against ``sandboxes/ffn`` (its
traffic validated against the FFN OpenAPI when the driver closes) and one for the engine's fake."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from adapters.ffn import FfnAuth, FfnClient, exchange_code
from daemon.clock import FakeClock
from daemon.errors import AuthError, RetryableError
from daemon.model import OutboundStatus, Shipment, ShipmentLine, StockLevel, Tracking
from daemon.oauth import TokenSet
from daemon.ports import Fulfiller
from daemon.secrets import Secret
from sandboxes.ffn import OAUTH_KEY, WORLD_KEY, create_app
from sandboxes.ffn.oauth import AUTH_CODE, CLIENT_ID, CLIENT_SECRET, OAuthServer
from sandboxes.ffn.world import WAREHOUSE_ID, World
from sandboxes.kit.kit import KIT_KEY, SandboxKit
from tests.adapters.ffn.spec import validate_exchanges
from tests.contracts.drivers.base import START
from tests.contracts.drivers.wire import TAMPERED, Wire
from tests.daemon.engine.fakes import FakeFulfiller


class MemoryTokens:
    """The token store, kept in memory: the Postgres one is proven in tests/adapters/ffn/test_tokens.py."""

    def __init__(self) -> None:
        self.tokens: TokenSet | None = None

    async def load(self) -> TokenSet | None:
        return self.tokens

    async def save(self, tokens: TokenSet) -> None:
        self.tokens = tokens


@dataclass
class FulfillerDriver(ABC):
    label: str
    clock: FakeClock = field(default_factory=lambda: FakeClock(START))
    over_http: bool = True

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    def fulfiller(self) -> Fulfiller: ...

    @abstractmethod
    async def set_stock(self, sku: str, level: int) -> None:
        """The warehouse counts ``level`` units of ``sku`` (a product upserted before)."""

    @abstractmethod
    async def ship(self, outbound_id: str, lines: Sequence[tuple[str, int]] | None, tracking: bool) -> None:
        """The fulfiller ships ``lines`` (SKU, quantity) of the outbound, or all that is open."""

    @abstractmethod
    async def start_work(self, outbound_id: str) -> None:
        """The fulfiller starts picking: the outbound is Locked from now on."""

    @abstractmethod
    async def held(self, outbound_id: str) -> list[tuple[str, Decimal]]:
        """The items (merchant SKU, quantity) the fulfiller holds for the outbound."""

    @abstractmethod
    def outbound_count(self) -> int: ...

    @abstractmethod
    async def revoke_consent(self) -> None:
        """The merchant withdrew the consent: no token works or refreshes any more."""

    @abstractmethod
    async def expire_access(self) -> None:
        """Every access token expires early (FFN may do so); the refresh token still works."""

    @abstractmethod
    def fail_always(self, status: int) -> None:
        """Every answer from now on is ``status`` (``0``: answer normally again)."""


@dataclass
class FfnDriver(FulfillerDriver):
    wire: Wire = field(default_factory=Wire)
    server: TestServer | None = None
    session: aiohttp.ClientSession | None = None
    tokens: MemoryTokens = field(default_factory=MemoryTokens)
    clients: list[FfnClient] = field(default_factory=list)

    @property
    def base(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    @property
    def world(self) -> World:
        assert self.server is not None
        return self.server.app[WORLD_KEY]

    @property
    def oauth(self) -> OAuthServer:
        assert self.server is not None
        return self.server.app[OAUTH_KEY]

    @property
    def kit(self) -> SandboxKit:
        assert self.server is not None
        return self.server.app[KIT_KEY]

    async def start(self) -> None:
        app = create_app(clock=self.clock, chunk_size=3)
        self.wire.install(app)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        self.session = aiohttp.ClientSession()
        secret = Secret(CLIENT_SECRET)
        redirect = "http://127.0.0.1/callback"
        await exchange_code(
            f"{self.base}/token", CLIENT_ID, secret, AUTH_CODE, redirect, self.tokens, clock=self.clock
        )

    async def close(self) -> None:
        for client in self.clients:
            await client.aclose()
        if self.session is not None:
            await self.session.close()
        if self.server is not None:
            await self.server.close()
        validate_exchanges(e for e in self.kit.log.entries() if TAMPERED not in e.response_headers)

    def fulfiller(self) -> Fulfiller:
        """As daemon/wiring/clients.py builds it (a fast pace and small pages for the test)."""
        auth = FfnAuth(
            f"{self.base}/token",
            client_id=CLIENT_ID,
            client_secret=Secret(CLIENT_SECRET),
            store=self.tokens,
            clock=self.clock,
        )
        client = FfnClient(
            f"{self.base}/api",
            ffn_merchant_id="MERC",
            warehouse_id=WAREHOUSE_ID,
            fulfiller_id="FULF",
            auth=auth,
            requests_per_second=1000.0,
            max_concurrency=8,
            clock=self.clock,
            page_size=2,
            backoff_base_s=0.01,
        )
        self.clients.append(client)
        return client

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        assert self.session is not None
        async with self.session.request(method, f"{self.base}/_sandbox/{path}", json=body) as response:
            text = await response.text()
            assert response.status < 300, f"control {method} {path}: {response.status} {text}"
            return await response.json() if text else None

    async def set_stock(self, sku: str, level: int) -> None:
        await self.control("PUT", f"stock/{sku}", {"level": level})

    async def ship(self, outbound_id: str, lines: Sequence[tuple[str, int]] | None, tracking: bool) -> None:
        body: dict[str, Any] = {"packages": 1, "tracking": tracking}
        if lines is not None:
            body["lines"] = [{"merchantSku": sku, "quantity": qty} for sku, qty in lines]
        await self.control("POST", f"outbounds/{outbound_id}/ship", body)

    async def start_work(self, outbound_id: str) -> None:
        await self.control("POST", f"outbounds/{outbound_id}/status", {"status": "Locked"})

    async def held(self, outbound_id: str) -> list[tuple[str, Decimal]]:
        doc = self.world.outbounds[outbound_id]
        return [(i["merchantSku"], Decimal(str(i["quantity"]))) for i in doc["items"]]

    def outbound_count(self) -> int:
        return len(self.world.outbounds)

    async def revoke_consent(self) -> None:
        self.oauth.refresh_tokens.clear()
        self.oauth.expire_all_access_tokens()

    async def expire_access(self) -> None:
        await self.control("POST", "oauth/expire-access-tokens")

    def fail_always(self, status: int) -> None:
        if status:
            self.wire.fail_always(status)
        else:
            self.wire.clear()


@dataclass
class FakeFulfillerDriver(FulfillerDriver):
    over_http: bool = False
    ffn: FakeFulfiller = field(default_factory=FakeFulfiller)
    shipped: int = 0

    async def start(self) -> None:
        self.ffn.clock = self.clock

    async def close(self) -> None:
        return None

    def fulfiller(self) -> Fulfiller:
        return self.ffn

    async def set_stock(self, sku: str, level: int) -> None:
        jfsku = "J" + sku.upper().rjust(10, "0")[-10:]
        self.ffn.stock.append(StockLevel(jfsku, sku, Decimal(level), updated_at=self.clock.now()))

    async def ship(self, outbound_id: str, lines: Sequence[tuple[str, int]] | None, tracking: bool) -> None:
        outbound = self.ffn.outbounds[outbound_id]
        items = {i.merchant_sku: i for i in outbound.items}
        done = {line.sku: line.quantity for s in self.ffn.shipments for line in s.lines if line.sku}
        wanted = lines or [(sku, int(i.quantity - done.get(sku, 0))) for sku, i in items.items()]
        shipped = [(sku, Decimal(qty)) for sku, qty in wanted if qty]
        total = {sku: done.get(sku, 0) + qty for sku, qty in shipped}
        complete = all(total.get(sku, done.get(sku, 0)) >= i.quantity for sku, i in items.items())
        status = OutboundStatus.SHIPPED if complete else OutboundStatus.PARTIALLY_SHIPPED
        self.ffn.statuses[outbound_id] = status
        self.shipped += 1
        self.ffn.shipments.append(
            Shipment(
                shipment_id=f"N-{self.shipped}",
                outbound_id=outbound_id,
                merchant_outbound_number=outbound.merchant_outbound_number,
                lines=tuple(ShipmentLine(qty, jfsku=items[sku].jfsku, sku=sku) for sku, qty in shipped),
                trackings=(Tracking(f"JJD{self.shipped:04}", "DHL"),) if tracking else (),
                outbound_status=status.value,
                updated_at=self.clock.now(),
            )
        )
        self.ffn._changed(outbound_id)

    async def start_work(self, outbound_id: str) -> None:
        self.ffn.statuses[outbound_id] = OutboundStatus.LOCKED
        self.ffn._changed(outbound_id)

    async def held(self, outbound_id: str) -> list[tuple[str, Decimal]]:
        return [(i.merchant_sku, i.quantity) for i in self.ffn.outbounds[outbound_id].items]

    def outbound_count(self) -> int:
        return len(self.ffn.outbounds)

    async def revoke_consent(self) -> None:
        self.ffn.failure = AuthError("FFN refused the refresh token: run ffn-sync ffn-login --config …")

    async def expire_access(self) -> None:
        return None  # the fake has no tokens

    def fail_always(self, status: int) -> None:
        self.ffn.failure = (
            RetryableError("FFN unavailable", upstream="ffn", status=status) if status else None
        )


FULFILLER_DRIVERS = {
    "ffn": lambda: FfnDriver("ffn"),
    "fake": lambda: FakeFulfillerDriver("fake"),
}
