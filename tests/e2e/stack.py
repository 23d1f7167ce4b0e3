"""An end-to-end stack: real sandboxes on 127.0.0.1, a real Postgres, the real config loader, wiring and
engine. Tests drive the world through the sandboxes' control API, exactly as an operator's script would."""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from daemon.config import AppConfig, load_config
from daemon.scheduler import run_all_once
from daemon.store import Database, open_database
from daemon.store.migrations import migrate
from sandboxes.world.shops import SHOPS, ffn_is_write

SHOP_CREDENTIALS = {
    "shopify": {"access_token": "env:E2E_SHOPIFY_TOKEN", "location_id": "gid://shopify/Location/1000001"},
    "shopware": {"client_id": "env:E2E_SHOPWARE_ID", "client_secret": "env:E2E_SHOPWARE_SECRET"},
    "woocommerce": {"consumer_key": "env:E2E_WC_KEY", "consumer_secret": "env:E2E_WC_SECRET"},
}
# A Shopify Plus bucket (10x the standard plan) keeps big worlds short; the standard plan's pacing is
# exercised in tests/adapters/shopify and bench/.
PLUS = {"shopify": {"maximum_available": 20000, "restore_rate": 1000}}
DEFAULT_MAP = {"Standard": "FULF0A0001", "Express": "FULF0A0002"}
ENV = {
    "E2E_FFN_ID": "sandbox",
    "E2E_FFN_SECRET": "sandbox-secret",
    "E2E_SHOPIFY_TOKEN": "shpat_sandbox",
    "E2E_SHOPWARE_ID": "SWIASANDBOXACCESSKEY00000001",
    "E2E_SHOPWARE_SECRET": "sandbox-secret-access-key-0000000000000000000000",
    "E2E_WC_KEY": "ck_sandbox",
    "E2E_WC_SECRET": "cs_sandbox",
}


@dataclass
class Sandbox:
    kind: str
    url: str
    app: web.Application
    runner: web.AppRunner


async def start_sandbox(kind: str, **knobs: Any) -> Sandbox:
    module = importlib.import_module(f"sandboxes.{kind}")
    app = module.create_app(**knobs)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return Sandbox(kind, f"http://127.0.0.1:{port}", app, runner)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def merchant_toml(
    ffn_url: str,
    shops: Sequence[tuple[str, str, str]],
    *,
    state_dir: Path,
    dsn_env: str,
    shipping_default: str | None = "FULF0A0001",
    shipping_map: dict[str, str] | None = None,
) -> str:
    lines = [
        "[merchant]",
        'id = "acme"',
        'ffn_merchant_id = "MERC"',
        'warehouse_id = "FULF04XX-12345-0001"',
        'fulfiller_id = "FULF"',
        f'product_master = "{shops[0][0]}"',
        "[daemon]",
        f"state_dir = {_toml_value(str(state_dir))}",
        "[database]",
        f'dsn = "env:{dsn_env}"',
        "[metrics]",
        "enabled = false",
        "[ffn]",
        f'base_url = "{ffn_url}/api"',
        f'token_url = "{ffn_url}/token"',
        f'authorize_url = "{ffn_url}/authorize"',
        'client_id = "env:E2E_FFN_ID"',
        'client_secret = "env:E2E_FFN_SECRET"',
        "requests_per_second = 500.0",
        "max_concurrency = 8",
        "oversale = true",
        "[ffn.intervals]",
        "shipments = 1\nstatus = 1\nstock = 1\nreconcile = 30",
        "[ffn.cursor]",
        "overlap_s = 30\nlag_s = 0",
    ]
    for name, kind, url in shops:
        lines += [
            "[[channels]]",
            f'name = "{name}"',
            f'kind = "{kind}"',
            f'order_prefix = "{name[:2].upper()}-"',
            f'base_url = "{url}"',
            "[channels.credentials]",
            *(f"{k} = {_toml_value(v)}" for k, v in SHOP_CREDENTIALS[kind].items()),
            "[channels.intervals]",
            "orders = 1\nproducts = 1\nstock = 1",
            "[channels.cursor]",
            "overlap_s = 30\nlag_s = 0",
            "[channels.orders]",
            "import_since = 2020-01-01T00:00:00Z",
            'payment_states = ["paid"]',
            "[channels.shipping]",
            *([f'default = "{shipping_default}"'] if shipping_default else []),
            "[channels.shipping.map]",
            *(f'"{k}" = "{v}"' for k, v in (shipping_map or DEFAULT_MAP).items()),
        ]
    return "\n".join(lines) + "\n"


@dataclass
class Stack:
    ffn: Sandbox
    shops: dict[str, Sandbox]
    http: aiohttp.ClientSession
    config: AppConfig
    config_path: Path
    env: dict[str, str]
    db: Database
    runtime: Any = None
    marks: dict[str, int] = field(default_factory=dict)

    async def control(self, sandbox: Sandbox, method: str, path: str, json: Any = None) -> Any:
        async with self.http.request(method, f"{sandbox.url}/_sandbox/{path.lstrip('/')}", json=json) as resp:
            raw = await resp.read()
            assert resp.status < 300, f"{method} {path} -> {resp.status}: {raw[:500]!r}"
            body = orjson.loads(raw) if raw.strip() else None
            return body

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

    async def requests(self, sandbox: Sandbox, since: int = 0) -> list[dict[str, Any]]:
        data = await self.control(sandbox, "GET", f"requests?since={since}")
        return list(data["requests"])

    async def mark(self) -> None:
        for sandbox in (self.ffn, *self.shops.values()):
            self.marks[sandbox.url] = (await self.control(sandbox, "GET", "requests?since=999999999"))[
                "last_seq"
            ]

    async def reconfigure(self, **toml_args: Any) -> None:
        """Rewrite the config (as an operator would) and rebuild the runtime (as SIGHUP does)."""
        from daemon.wiring import build_runtime

        self.config_path.write_text(
            merchant_toml(
                self.ffn.url,
                [(name, sb.kind, sb.url) for name, sb in self.shops.items()],
                state_dir=self.config_path.parent / "state",
                dsn_env="E2E_DSN",
                **toml_args,
            )
        )
        self.config = load_config(self.config_path, environ=self.env)
        await self.runtime.aclose()
        self.runtime = await build_runtime(self.config, self.db)

    async def writes_since_mark(self, sandbox: Sandbox) -> list[dict[str, Any]]:
        calls = await self.requests(sandbox, self.marks.get(sandbox.url, 0))
        return [c for c in calls if is_write(sandbox.kind, c)]


def is_write(kind: str, call: dict[str, Any]) -> bool:
    """The same classification the demo and the benchmark count with."""
    return ffn_is_write(call) if kind == "ffn" else SHOPS[kind].is_write(call)


@asynccontextmanager
async def stack(
    tmp_path: Path,
    pg_dsn: str,
    kinds: Sequence[str] = ("shopify",),
    *,
    ffn_knobs: dict[str, Any] | None = None,
    shop_knobs: dict[str, Any] | None = None,
    shipping_default: str | None = "FULF0A0001",
) -> AsyncIterator[Stack]:
    from adapters.ffn import exchange_code
    from daemon.store.tokens import PgTokenStore
    from daemon.wiring import build_runtime

    ffn = await start_sandbox("ffn", **(ffn_knobs or {}))
    shops = {f"{kind}-main": await start_sandbox(kind, **(shop_knobs or {}).get(kind, {})) for kind in kinds}
    env = {**ENV, "E2E_DSN": pg_dsn}
    path = tmp_path / "acme.toml"
    path.write_text(
        merchant_toml(
            ffn.url,
            [(name, sb.kind, sb.url) for name, sb in shops.items()],
            state_dir=tmp_path / "state",
            dsn_env="E2E_DSN",
            shipping_default=shipping_default,
        )
    )
    config = load_config(path, environ=env)
    try:
        async with aiohttp.ClientSession() as http, open_database(pg_dsn, tmp_path / "state") as db:
            await migrate(db.pool)
            merchant = config.merchants[0]
            await exchange_code(
                merchant.ffn.token_url,
                merchant.ffn.client_id,
                merchant.ffn.client_secret,
                "sandbox-code",
                merchant.ffn.redirect_uri,
                PgTokenStore(db.pool, merchant.id),
            )
            s = Stack(ffn, shops, http, config, path, env, db)
            s.runtime = await build_runtime(config, db)
            try:
                yield s
            finally:
                await s.runtime.aclose()
    finally:
        for sandbox in (ffn, *shops.values()):
            await sandbox.runner.cleanup()
