"""The stage the daemon plays on: sandbox processes, an embedded Postgres, FFN consent and a merchant config.

Shared by ``ffn-sync demo`` and the benchmark. The stage owns the embedded Postgres (the config gets its
DSN through ``env:``) so the database outlives a daemon run: the summary reads dead letters and latencies
after the daemon stopped, and the benchmark can start the daemon as often as it likes.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg
from loguru import logger

from sandboxes.demo.consent import grant_ffn_consent
from sandboxes.demo.control import Control
from sandboxes.demo.errors import DemoUsageError
from sandboxes.demo.merchant_config import (
    ENV_PREFIX,
    MERCHANT_ID,
    Endpoints,
    Timing,
    render_config,
    secret_env,
)
from sandboxes.demo.ports import free_port
from sandboxes.demo.sandboxes import FULFILLER_KIND, SHOP_KINDS, SandboxProcess, running_sandboxes


@dataclass(frozen=True)
class StageOptions:
    shops: tuple[str, ...] | None = None  # None: every shop kind whose sandbox this build ships
    timing: Timing = field(default_factory=Timing)
    work_dir: Path | None = None  # None: a fresh temporary directory, removed afterwards unless keep
    keep: bool = False
    metrics: bool = False
    ffn_requests_per_second: float = 50.0
    ffn_max_concurrency: int = 8
    log_level: str = "INFO"


@dataclass
class Stage:
    work_dir: Path
    sandboxes: dict[str, SandboxProcess]
    ffn: Control
    shops: dict[str, Control]
    pool: asyncpg.Pool
    dsn: str
    config_path: Path
    env: dict[str, str]
    metrics_port: int | None
    session: aiohttp.ClientSession


def resolve_shops(wanted: Sequence[str] | None) -> list[str]:
    if wanted is None:
        return list(SHOP_KINDS)
    unknown = [kind for kind in wanted if kind not in SHOP_KINDS]
    if unknown:
        raise DemoUsageError(
            f"unknown shop kind(s): {', '.join(unknown)}; choose from: {', '.join(SHOP_KINDS)}"
        )
    if not wanted:
        raise DemoUsageError("--shops names no shop")
    return list(dict.fromkeys(wanted))


def _temporary_dir() -> Path:
    path = Path(tempfile.mkdtemp(prefix="ffn-sync-demo-"))
    path.chmod(0o755)  # the embedded server may run as its own system user when started as root
    return path


@contextlib.asynccontextmanager
async def _work_dir(options: StageOptions) -> AsyncIterator[Path]:
    if options.work_dir is not None:
        options.work_dir.mkdir(parents=True, exist_ok=True)
        yield options.work_dir
        return
    path = _temporary_dir()
    try:
        yield path
    finally:
        if options.keep:
            logger.info("demo: kept the working directory {}", path)
        else:
            shutil.rmtree(path, ignore_errors=True)


@contextlib.asynccontextmanager
async def _database(state_dir: Path) -> AsyncIterator[tuple[asyncpg.Pool, str]]:
    from daemon.store.db import create_pool
    from daemon.store.embedded import start_embedded, stop_embedded
    from daemon.store.migrations import migrate

    server = await start_embedded(state_dir)
    try:
        dsn = server.dsn()
        pool = await create_pool(dsn, min_size=1, max_size=4)
        try:
            await migrate(pool)
            yield pool, dsn
        finally:
            await pool.close()
    finally:
        await stop_embedded(server)


@contextlib.asynccontextmanager
async def staged(options: StageOptions) -> AsyncIterator[Stage]:
    shop_kinds = resolve_shops(options.shops)
    async with (
        _work_dir(options) as work_dir,
        aiohttp.ClientSession() as session,
        running_sandboxes([FULFILLER_KIND, *shop_kinds], work_dir, session) as sandboxes,
    ):
        for kind, sandbox in sandboxes.items():
            logger.info("demo: {} sandbox on {} (pid {})", kind, sandbox.base_url, sandbox.pid)
        state_dir = work_dir / "state"
        async with _database(state_dir) as (pool, dsn):
            ffn_url = sandboxes[FULFILLER_KIND].base_url
            await grant_ffn_consent(pool, MERCHANT_ID, ffn_url)
            metrics_port = free_port() if options.metrics else None
            endpoints = Endpoints(ffn_url, {kind: sandboxes[kind].base_url for kind in shop_kinds})
            config_path = work_dir / "merchant.toml"
            config_path.write_text(
                render_config(
                    endpoints,
                    state_dir=state_dir,
                    timing=options.timing,
                    metrics_port=metrics_port,
                    ffn_requests_per_second=options.ffn_requests_per_second,
                    ffn_max_concurrency=options.ffn_max_concurrency,
                    log_level=options.log_level,
                )
            )
            yield Stage(
                work_dir=work_dir,
                sandboxes=sandboxes,
                ffn=Control(session, ffn_url, FULFILLER_KIND),
                shops={kind: Control(session, sandboxes[kind].base_url, kind) for kind in shop_kinds},
                pool=pool,
                dsn=dsn,
                config_path=config_path,
                env=secret_env(shop_kinds, dsn, ENV_PREFIX),
                metrics_port=metrics_port,
                session=session,
            )
