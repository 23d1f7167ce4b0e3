"""An end-to-end stack: real sandboxes on 127.0.0.1, a real Postgres, the real config loader, wiring and
engine. Tests drive the world through the sandboxes' control API, exactly as an operator's script would.

The world is the one ``sandboxes.world`` builds for the demo and the benchmark, with the sandboxes in this
process (tests reach into their state and set ``create_app`` knobs) and the test's own database.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from daemon.config import AppConfig
from daemon.scheduler import run_all_once
from daemon.store import Database
from daemon.store.wake import listen_for_wakes
from sandboxes.world.control import Control
from sandboxes.world.merchant import Channel, MerchantFile, Timing, secret_env
from sandboxes.world.running import InProcessSandbox
from sandboxes.world.shops import SHOP_KINDS, SHOPS, ffn_is_write
from sandboxes.world.stage import Stage, StageOptions, staged

# A Shopify Plus bucket (10x the standard plan) keeps big worlds short; the standard plan's pacing is
# exercised in tests/adapters/shopify and bench/.
PLUS = {"shopify": {"maximum_available": 20000, "restore_rate": 1000}}
ENV_PREFIX = "E2E"
ENV = secret_env(SHOP_KINDS, None, ENV_PREFIX)  # every shop kind's: a test may add a shop to the config
# Every interval 1 s and no cursor lag: ``settle`` passes see what was made a second before.
TIMING = Timing(
    orders_s=1, products_s=1, stock_s=1, shipments_s=1, status_s=1, reconcile_s=30, lag_s=0, overlap_s=30
)
MERCHANT = MerchantFile(
    merchant_id="acme",
    timing=TIMING,
    env_prefix=ENV_PREFIX,
    ffn_requests_per_second=500.0,
    oversale=True,
    import_since=datetime(2020, 1, 1, tzinfo=UTC),
    shutdown_grace_s=20,
    shipping_map={"Standard": "FULF0A0001", "Express": "FULF0A0002"},
)


def channel(name: str, kind: str, url: str, **fields: Any) -> Channel:
    """A shop of the e2e merchant; its order prefix comes from its name (``shopify-main`` → ``SH-``)."""
    return Channel(name, kind, url, order_prefix=f"{name[:2].upper()}-", **fields)


def merchant_file(ffn_url: str, channels: Sequence[Channel], state_dir: Path, **fields: Any) -> MerchantFile:
    """The e2e merchant with these shops; ``fields`` override any other ``MerchantFile`` field."""
    return dataclasses.replace(MERCHANT, ffn_url=ffn_url, channels=channels, state_dir=state_dir, **fields)


@dataclass
class Stack:
    stage: Stage
    ffn: InProcessSandbox
    shops: dict[str, InProcessSandbox]  # channel name -> its shop's sandbox
    http: aiohttp.ClientSession
    config: AppConfig
    config_path: Path
    env: dict[str, str]
    db: Database
    runtime: Any = None
    marks: dict[str, int] = field(default_factory=dict)

    async def control(self, sandbox: InProcessSandbox, method: str, path: str, json: Any = None) -> Any:
        """A call of the sandbox's control API; any answer but 2xx fails the test, naming the call."""
        return await Control(self.http, sandbox.url, sandbox.kind).call(
            method, path, json, ok=range(200, 300)
        )

    def clock_now(self) -> datetime:
        return datetime.now(UTC)

    async def once(self, *, reconcile: bool = False) -> bool:
        """Every flow once (reconcile, the hourly backstop, only when asked); False when a flow failed
        or a record was parked, as ``ffn-sync once`` reports it."""
        started = datetime.now(UTC)
        ok = await run_all_once([j for j in self.runtime.jobs if reconcile or j.flow != "reconcile"])
        return ok and not await self.runtime.parked_since(started)

    async def settle(self, rounds: int = 3) -> bool:
        """Run every flow until the world is in sync; windows end on whole seconds, so a record made
        in the current second is read by the next pass (as in production, one interval later)."""
        ok = True
        for _ in range(rounds):
            await asyncio.sleep(1.05 - (time.time() % 1))  # cross a second boundary
            ok = await self.once() and ok
        return ok

    async def requests(self, sandbox: InProcessSandbox, since: int = 0) -> list[dict[str, Any]]:
        data = await self.control(sandbox, "GET", f"requests?since={since}")
        return list(data["requests"])

    async def mark(self) -> None:
        for sandbox in (self.ffn, *self.shops.values()):
            self.marks[sandbox.url] = (await self.control(sandbox, "GET", "requests?since=999999999"))[
                "last_seq"
            ]

    async def reconfigure(self, **fields: Any) -> None:
        """Rewrite the config with other ``MerchantFile`` fields (as an operator would) and rebuild the
        runtime (as SIGHUP does)."""
        from daemon.wiring import build_runtime

        self.stage.rewrite_config(dataclasses.replace(self.stage.merchant, **fields))
        self.config = self.stage.load_config()
        await self.runtime.aclose()
        self.runtime = await build_runtime(self.config, self.db)

    @asynccontextmanager
    async def daemon_processes(self) -> AsyncIterator[None]:
        """While daemon processes of the test run, the in-process engine holds no merchant lease (built, it
        takes every free merchant at once, and the processes would find nothing to own); afterwards it
        takes them back, as an instance started after them would."""
        from daemon.wiring import build_runtime

        await self.runtime.aclose()
        try:
            yield
        finally:
            self.runtime = await build_runtime(self.config, self.db)

    async def writes_since_mark(self, sandbox: InProcessSandbox) -> list[dict[str, Any]]:
        calls = await self.requests(sandbox, self.marks.get(sandbox.url, 0))
        return [c for c in calls if is_write(sandbox.kind, c)]


def is_write(kind: str, call: dict[str, Any]) -> bool:
    """The same classification the demo and the benchmark count with."""
    return ffn_is_write(call) if kind == "ffn" else SHOPS[kind].is_write(call)


def _main_channel(kind: str, url: str, **fields: Any) -> Channel:
    return channel(f"{kind}-main", kind, url, **fields)


def _in_process(sandbox: object) -> InProcessSandbox:
    assert isinstance(sandbox, InProcessSandbox)
    return sandbox


@asynccontextmanager
async def stack(
    tmp_path: Path,
    pg_dsn: str,
    kinds: Sequence[str] = ("shopify",),
    *,
    ffn_knobs: dict[str, Any] | None = None,
    shop_knobs: dict[str, Any] | None = None,
    shipping_default: str | None = "FULF0A0001",
    channel_fields: dict[str, Any] | None = None,
) -> AsyncIterator[Stack]:
    from daemon.wiring import build_runtime

    options = StageOptions(
        shops=tuple(kinds),
        merchant=dataclasses.replace(MERCHANT, shipping_default=shipping_default),
        channel=functools.partial(_main_channel, **(channel_fields or {})),
        sandboxes_in_process=True,
        knobs={"ffn": ffn_knobs or {}, **(shop_knobs or {})},
        dsn=pg_dsn,
        pool_max=10,
        work_dir=tmp_path,
        config_name="acme.toml",
    )
    async with staged(options) as stage:
        stage.env = {**ENV, **stage.env}
        config = stage.load_config()
        shops = {stage.channels[kind].name: _in_process(stage.sandboxes[kind]) for kind in kinds}
        ffn = _in_process(stage.sandboxes["ffn"])
        s = Stack(stage, ffn, shops, stage.session, config, stage.config_path, stage.env, stage.db)
        s.runtime = await build_runtime(config, stage.db)
        # As the daemon's app does: a rewind (``resync``) makes the runtime read its cursors again.
        rewinds = asyncio.create_task(
            listen_for_wakes(pg_dsn, lambda _m: None, None, lambda m: s.runtime.forget_cursors(m))
        )
        try:
            yield s
        finally:
            rewinds.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await rewinds
            await s.runtime.aclose()
