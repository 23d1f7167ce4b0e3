"""FFN contract fixtures: a sandbox per test (its traffic validated against the spec afterwards), a
Postgres token store, and client factories sharing one FakeClock with the sandbox."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import aiohttp
import asyncpg
import orjson
import pytest
from aiohttp.test_utils import TestServer
from loguru import logger

from adapters.ffn import FfnAuth, FfnClient, exchange_code
from daemon.clock import FakeClock
from daemon.model import Address, Outbound, OutboundItem, ShopProduct
from daemon.secrets import Secret
from daemon.store.migrations import migrate
from daemon.store.tokens import PgTokenStore
from sandboxes.ffn import OAUTH_KEY, WORLD_KEY, create_app
from sandboxes.ffn.oauth import AUTH_CODE, CLIENT_ID, CLIENT_SECRET, OAuthServer
from sandboxes.ffn.world import WAREHOUSE_ID, World
from sandboxes.kit import LoggedExchange, SandboxKit
from sandboxes.kit.kit import KIT_KEY
from tests.adapters.ffn.spec import validate_exchanges
from tests.conftest import _with_database

REDIRECT_URI = "http://127.0.0.1/callback"


@dataclass
class Sandbox:
    server: TestServer
    kit: SandboxKit
    world: World
    oauth: OAuthServer
    base: str  # http://127.0.0.1:port
    session: aiohttp.ClientSession
    # Exchanges a test provokes outside the spec on purpose (each test says why).
    allow: list[Callable[[LoggedExchange], bool]] = field(default_factory=list)

    @property
    def api(self) -> str:
        return f"{self.base}/api"

    @property
    def token_url(self) -> str:
        return f"{self.base}/token"

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        async with self.session.request(
            method, f"{self.base}/_sandbox/{path}", data=orjson.dumps(body) if body is not None else None
        ) as response:
            text = await response.read()
            assert response.status < 300, f"control {method} {path}: {response.status} {text!r}"
            return orjson.loads(text) if text else None

    def requests(self, method: str | None = None, path_part: str = "") -> list[LoggedExchange]:
        return [
            e
            for e in self.kit.log.entries()
            if (method is None or e.method == method) and path_part in e.path
        ]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def sandbox(clock: FakeClock) -> AsyncIterator[Sandbox]:
    app = create_app(clock=clock, chunk_size=3)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        sb = Sandbox(
            server=server,
            kit=app[KIT_KEY],
            world=app[WORLD_KEY],
            oauth=app[OAUTH_KEY],
            base=str(server.make_url("/")).rstrip("/"),
            session=session,
        )
        yield sb
    await server.close()
    validate_exchanges(sb.kit.log.entries(), allow=lambda e: any(rule(e) for rule in sb.allow))


@pytest.fixture(scope="session")
def ffn_dsn(pg_server_uri: str) -> str:
    """One migrated database for all FFN tests; each test stores tokens under its own merchant id."""
    name = "ffn_" + uuid.uuid4().hex[:12]

    async def create() -> None:
        admin = await asyncpg.connect(pg_server_uri)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        pool = await asyncpg.create_pool(_with_database(pg_server_uri, name), min_size=1, max_size=1)
        assert pool is not None
        try:
            await migrate(pool)
        finally:
            await pool.close()

    asyncio.run(create())
    return _with_database(pg_server_uri, name)


@pytest.fixture
async def pool(ffn_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(ffn_dsn, min_size=1, max_size=4)
    assert pool is not None
    yield pool
    await pool.close()


@pytest.fixture
def store(pool: asyncpg.Pool) -> PgTokenStore:
    return PgTokenStore(pool, "M" + uuid.uuid4().hex[:7])


@pytest.fixture
async def logged_in(sandbox: Sandbox, store: PgTokenStore, clock: FakeClock) -> PgTokenStore:
    await exchange_code(
        sandbox.token_url, CLIENT_ID, Secret(CLIENT_SECRET), AUTH_CODE, REDIRECT_URI, store, clock=clock
    )
    return store


ClientFactory = Callable[..., FfnClient]


@pytest.fixture
async def make_client(
    sandbox: Sandbox, logged_in: PgTokenStore, clock: FakeClock
) -> AsyncIterator[ClientFactory]:
    made: list[FfnClient] = []

    def make(**overrides: Any) -> FfnClient:
        auth = FfnAuth(
            sandbox.token_url,
            client_id=CLIENT_ID,
            client_secret=Secret(CLIENT_SECRET),
            store=overrides.pop("store", logged_in),
            clock=overrides.get("clock", clock),
        )
        settings: dict[str, Any] = {
            "ffn_merchant_id": "MERC",
            "warehouse_id": WAREHOUSE_ID,
            "fulfiller_id": "FULF",
            "auth": auth,
            "requests_per_second": 1000.0,
            "max_concurrency": 8,
            "clock": clock,
            "page_size": 2,
            "backoff_base_s": 0.01,
        }
        settings.update(overrides)
        client = FfnClient(sandbox.api, **settings)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


@pytest.fixture
def client(make_client: ClientFactory) -> FfnClient:
    return make_client()


@pytest.fixture
def log_lines() -> AsyncIterator[list[str]] | Any:
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="DEBUG")
    yield lines
    logger.remove(sink)


def product(sku: str, **overrides: Any) -> ShopProduct:
    fields: dict[str, Any] = {
        "sku": sku,
        "name": f"Product {sku}",
        "external_id": f"v-{sku}",
        "ean": "4006381333931",
        "weight_kg": Decimal("0.25"),
        "net_price": Decimal("12.50"),
        "currency": "EUR",
        "length_m": Decimal("0.2"),
        "width_m": Decimal("0.1"),
        "height_m": Decimal("0.05"),
        "origin_country": "DE",
    }
    fields.update(overrides)
    return ShopProduct(**fields)


ADDRESS = Address(
    first_name="Erika",
    last_name="Mustermann",
    street="Heidestraße 17",
    zip="51147",
    city="Köln",
    country_code="DE",
    email="erika@example.com",
)


def outbound(outbound_id: str, number: str, items: list[tuple[str, str, int]], **overrides: Any) -> Outbound:
    fields: dict[str, Any] = {
        "outbound_id": outbound_id,
        "merchant_outbound_number": number,
        "warehouse_id": WAREHOUSE_ID,
        "currency": "EUR",
        "shipping_address": ADDRESS,
        "shipping_method_id": "FULF0A0001",
        "items": tuple(
            OutboundItem(
                outbound_item_id=str(i),
                jfsku=jfsku,
                merchant_sku=sku,
                name=f"Item {sku}",
                quantity=Decimal(qty),
                unit_price=Decimal("9.99"),
            )
            for i, (jfsku, sku, qty) in enumerate(items, start=1)
        ),
        "order_value": Decimal("29.97"),
        "shipping_fee": Decimal("4.90"),
        "external_number": "shop-1",
    }
    fields.update(overrides)
    return Outbound(**fields)


SeedStock = Callable[[str, int], Awaitable[None]]


@pytest.fixture
def set_stock(sandbox: Sandbox) -> SeedStock:
    async def put(sku: str, level: int) -> None:
        await sandbox.control("PUT", f"stock/{sku}", {"level": level})

    return put
