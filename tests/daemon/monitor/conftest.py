"""Helpers for the monitoring tests: a free loopback port, a scrape parser, a loguru capture."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from loguru import logger
from prometheus_client.parser import text_string_to_metric_families

from daemon.clock import FakeClock
from daemon.engine.context import MerchantContext
from daemon.engine.cycle import CycleCounts, run_cycle
from daemon.engine.observer import NullObserver, Observer
from daemon.engine.settings import ChannelSettings, CursorSettings, MerchantSettings
from daemon.errors import RetryableError
from daemon.store import create_pool, migrate
from tests.daemon.engine.fakes import FakeFulfiller, FakeShop


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse_scrape(text: str) -> Samples:
    """{(sample name, labels): value} of a Prometheus text exposition."""
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """Sum over every sample of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, lbls), v in samples.items() if n == name and wanted <= lbls)


@pytest.fixture
def logs() -> Iterator[list[tuple[str, str, dict[str, object]]]]:
    """(level, message, extra) of every loguru record while the test runs."""
    captured: list[tuple[str, str, dict[str, object]]] = []
    sink = logger.add(
        lambda message: captured.append(
            (message.record["level"].name, message.record["message"], dict(message.record["extra"]))
        ),
        level="DEBUG",
    )
    try:
        yield captured
    finally:
        logger.remove(sink)


@pytest.fixture
async def pool(pg_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(pg_dsn)
    await migrate(pool)
    try:
        yield pool
    finally:
        await pool.close()


def merchant_context(
    pool: asyncpg.Pool, clock: FakeClock, observer: Observer | None = None, merchant: str = "acme"
) -> tuple[MerchantContext, FakeShop, FakeFulfiller]:
    """A real engine context on Postgres with in-memory adapters (tests/daemon/engine/fakes.py)."""
    shop, ffn = FakeShop(), FakeFulfiller()
    settings = MerchantSettings(
        merchant_id=merchant,
        ffn_merchant_id="MERC",
        warehouse_id="FULF04XX-12345-0001",
        channels=(
            ChannelSettings(
                name="shopify-main",
                kind="fake",
                order_prefix="S-",
                shipping_map={"Standard": "FULF0A0001"},
                cursor=CursorSettings(overlap_s=60, lag_s=5, first_window_s=86400),
            ),
        ),
        product_master="shopify-main",
    )
    ctx = MerchantContext(
        settings=settings,
        pool=pool,
        fulfiller=ffn,
        channels={"shopify-main": shop},
        clock=clock,
        observer=observer or NullObserver(),
    )
    return ctx, shop, ffn


async def record_cycle(
    ctx: MerchantContext, channel: str, flow: str, *, ok: bool, interval_s: float = 60
) -> None:
    """One real ``run_cycle`` that succeeds or fails as the shop being down would make it."""

    async def body(counts: CycleCounts) -> None:
        counts.pulled += 1
        if not ok:
            raise RetryableError(
                "connection failed: GET /admin/api/2026-10/orders.json: ClientConnectorError"
            )

    try:
        await run_cycle(ctx, channel, flow, interval_s, body)
    except RetryableError:
        pass
