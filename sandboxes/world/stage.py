"""The stage the daemon plays on: sandboxes, a migrated Postgres, FFN consent and a merchant config.

One builder for ``ffn-sync demo``, the benchmark and the end-to-end tests; ``StageOptions`` holds what
differs between them. Without a DSN the stage owns an embedded Postgres (the config gets its DSN through
``env:``) so the database outlives a daemon run: the demo's summary reads dead letters and latencies after
the daemon stopped, and the benchmark can start the daemon as often as it likes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
import asyncpg
from loguru import logger

from daemon.config import AppConfig, load_config
from sandboxes.world.consent import grant_ffn_consent
from sandboxes.world.control import Control
from sandboxes.world.errors import WorldUsageError
from sandboxes.world.merchant import Channel, MerchantFile, secret_env
from sandboxes.world.ports import free_port
from sandboxes.world.running import Knobs, Sandbox, running_sandboxes
from sandboxes.world.shops import FULFILLER_KIND, SHOP_KINDS, SHOPS

if TYPE_CHECKING:
    from daemon.store import Database


def demo_channel(kind: str, url: str) -> Channel:
    return Channel(SHOPS[kind].channel, kind, url)


@dataclass(frozen=True)
class StageOptions:
    shops: tuple[str, ...] | None = None  # None: every shop kind whose sandbox this build ships
    merchant: MerchantFile = field(default_factory=MerchantFile)  # endpoints and state_dir are filled in
    channel: Callable[[str, str], Channel] = demo_channel  # (kind, sandbox URL) -> the channel's entry
    sandboxes_in_process: bool = False
    knobs: Knobs = field(default_factory=dict)  # per sandbox kind, the create_app keywords (in-process only)
    dsn: str | None = None  # None: an embedded Postgres in the work directory
    pool_max: int = 4
    work_dir: Path | None = None  # None: a fresh temporary directory, removed afterwards unless keep
    config_name: str = "merchant.toml"
    keep: bool = False
    metrics: bool = False
    # Each shop sandbox also answers on this many loopback addresses (127.1.0.1, …): a fleet's shops can then
    # each be a host of their own (``stage_fleet(distinct_hosts=True)``), as in production.
    shop_hosts: int = 0


@dataclass
class Stage:
    work_dir: Path
    sandboxes: dict[str, Sandbox]  # kind -> sandbox, the FFN one under "ffn"
    channels: dict[str, Channel]  # shop kind -> its channel in the merchant file
    ffn: Control
    shops: dict[str, Control]  # shop kind -> its control API
    db: Database
    config_path: Path
    merchant: MerchantFile
    env: dict[str, str]
    metrics_port: int | None
    session: aiohttp.ClientSession
    shop_hosts: int = 0  # loopback addresses each shop sandbox also answers on (StageOptions.shop_hosts)

    @property
    def pool(self) -> asyncpg.Pool:
        return self.db.pool

    @property
    def dsn(self) -> str:
        return self.db.dsn

    def load_config(self) -> AppConfig:
        return load_config(self.config_path, environ=self.env)

    def daemon_argv(self, command: str = "run") -> list[str]:
        """``ffn-sync COMMAND`` on this stage's config, as its own process."""
        return [sys.executable, "-m", "daemon", command, "--config", str(self.config_path)]

    def daemon_env(self) -> dict[str, str]:
        return {**os.environ, **self.env}

    async def spawn_daemon(self, log_path: Path, command: str = "run") -> asyncio.subprocess.Process:
        """The daemon as its own process, its output appended to ``log_path``."""
        with log_path.open("ab") as log:
            return await asyncio.create_subprocess_exec(
                *self.daemon_argv(command),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=self.daemon_env(),
            )

    def rewrite_config(self, merchant: MerchantFile) -> None:
        """Write another merchant file over the config, as an operator edits it."""
        self.merchant = merchant
        merchant.write(self.config_path)


def resolve_shops(wanted: Sequence[str] | None) -> list[str]:
    if wanted is None:
        return list(SHOP_KINDS)
    unknown = [kind for kind in wanted if kind not in SHOP_KINDS]
    if unknown:
        raise WorldUsageError(
            f"unknown shop kind(s): {', '.join(unknown)}; choose from: {', '.join(SHOP_KINDS)}"
        )
    if not wanted:
        raise WorldUsageError("--shops names no shop")
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
            logger.info("world: kept the working directory {}", path)
        else:
            shutil.rmtree(path, ignore_errors=True)


@contextlib.asynccontextmanager
async def _database(dsn: str | None, state_dir: Path, pool_max: int) -> AsyncIterator[Database]:
    from daemon.store import open_database
    from daemon.store.migrations import migrate

    async with open_database(dsn, state_dir, pool_min=1, pool_max=pool_max) as db:
        await migrate(db.pool)
        yield db


@contextlib.asynccontextmanager
async def staged(options: StageOptions) -> AsyncIterator[Stage]:
    shop_kinds = resolve_shops(options.shops)
    async with (
        _work_dir(options) as work_dir,
        aiohttp.ClientSession() as session,
        running_sandboxes(
            [FULFILLER_KIND, *shop_kinds],
            in_process=options.sandboxes_in_process,
            knobs=options.knobs,
            log_dir=work_dir,
            session=session,
            loopback_hosts=dict.fromkeys(shop_kinds, options.shop_hosts),
        ) as sandboxes,
    ):
        for kind, sandbox in sandboxes.items():
            logger.info("world: {} sandbox on {} (pid {})", kind, sandbox.url, sandbox.pid)
        state_dir = work_dir / "state"
        async with _database(options.dsn, state_dir, options.pool_max) as db:
            ffn_url = sandboxes[FULFILLER_KIND].url
            channels = {kind: options.channel(kind, sandboxes[kind].url) for kind in shop_kinds}
            merchant = dataclasses.replace(
                options.merchant,
                ffn_url=ffn_url,
                channels=list(channels.values()),
                state_dir=state_dir,
                metrics_port=free_port() if options.metrics else None,
            )
            await grant_ffn_consent(db.pool, merchant.merchant_id, ffn_url)
            yield Stage(
                work_dir=work_dir,
                sandboxes=sandboxes,
                channels=channels,
                ffn=Control(session, ffn_url, FULFILLER_KIND),
                shops={kind: Control(session, sandboxes[kind].url, kind) for kind in shop_kinds},
                db=db,
                config_path=merchant.write(work_dir / options.config_name),
                merchant=merchant,
                env=secret_env(shop_kinds, db.dsn, merchant.env_prefix),
                metrics_port=merchant.metrics_port,
                session=session,
                shop_hosts=options.shop_hosts,
            )
