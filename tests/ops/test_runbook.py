"""The runbook's tables match the code, and its jq one-liners work on real JSON log lines."""

from __future__ import annotations

import asyncio
import io
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from loguru import logger

from daemon.cli.exitcodes import ExitCode
from daemon.clock import FakeClock
from daemon.engine.cycle import CycleCounts, run_cycle
from daemon.engine.flows import orders
from daemon.http import HttpClient
from daemon.logging_setup import configure_logging
from daemon.monitor import METRIC_NAMES
from daemon.store import create_pool, migrate
from tests.daemon.monitor.conftest import merchant_context
from tests.daemon.monitor.test_cycle_logs import T0, order

RUNBOOK = (Path(__file__).resolve().parents[2] / "ops" / "RUNBOOK.md").read_text()


def table_rows(first_header: str) -> list[list[str]]:
    lines = RUNBOOK.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_exit_code_table_lists_every_code() -> None:
    documented = {(int(row[0]), row[1]) for row in table_rows("Code")}
    assert documented == {(code.value, code.name) for code in ExitCode}


def test_metric_table_lists_every_exported_metric() -> None:
    documented = {row[0].strip("`") for row in table_rows("Metric")}
    assert documented == set(METRIC_NAMES)


@pytest.fixture
async def pool(pg_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(pg_dsn)
    await migrate(pool)
    try:
        yield pool
    finally:
        await pool.close()


async def json_log(pool: asyncpg.Pool) -> str:
    """The JSON lines of an orders cycle with a parked order and of one HTTP retry."""
    out = io.StringIO()
    configure_logging("json", stream=out, environ={"JOURNAL_STREAM": "8:1"})

    clock = FakeClock(T0)
    ctx, shop, _ = merchant_context(pool, clock)
    await pool.execute(
        "INSERT INTO sku_map (merchant_id, sku, jfsku) VALUES ('acme', 'SKU-1', 'JFSKU000001')"
    )
    shop.put(order(1, T0 - timedelta(minutes=1), "Standard"))
    shop.put(order(2, T0 - timedelta(minutes=1), "Teleport"))

    async def body(counts: CycleCounts) -> None:
        await orders.run(ctx, ctx.settings.channel("shopify-main"), counts)

    await run_cycle(ctx, "shopify-main", "orders", 60, body)

    answers = iter([503, 200])

    async def flaky(request: web.Request) -> web.Response:
        return web.json_response({}, status=next(answers))

    app = web.Application()
    app.router.add_get("/orders", flaky)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    client = HttpClient("shopify", str(server.make_url("/")), clock=FakeClock())
    try:
        with logger.contextualize(merchant="acme", channel="shopify-main", flow="orders"):
            await client.get_json("orders")
    finally:
        await client.aclose()
        await server.close()
    return out.getvalue()


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq not installed")
@pytest.mark.usefixtures("restore_logging")
async def test_jq_one_liners_answer_on_real_log_lines(pool: asyncpg.Pool) -> None:
    log = await json_log(pool)
    commands = re.findall(r"\| jq (-[cr]) '([^']*)'", RUNBOOK)
    assert len(commands) == 4
    outputs = []
    for flag, program in commands:
        done = await asyncio.to_thread(
            subprocess.run, ["jq", flag, program], input=log, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, (program, done.stderr)
        outputs.append(done.stdout)
    problems, parked, durations, retries = outputs
    assert (
        '"record":"#2"' in problems and "parked order #2" in problems and "retry upstream=shopify" in problems
    )
    assert parked.count("\n") == 1 and "\tacme\tshopify-main\t#2\tparked order #2: " in parked
    assert re.fullmatch(r"acme/shopify-main/orders \d+\.\d\ds\n", durations)
    assert retries == "shopify 503\n"
