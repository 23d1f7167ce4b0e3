"""``ffn-sync check``: validate the config and probe every configured API once."""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass
from typing import Any

from daemon.cli.common import load_app_config
from daemon.cli.exitcodes import ExitCode
from daemon.cli.registry import Command

PROBE_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Probe:
    merchant: str
    api: str  # "ffn" or the channel name
    url: str


@dataclass(frozen=True)
class ProbeResult:
    probe: Probe
    ok: bool
    detail: str


def probes_for(config: Any) -> list[Probe]:
    probes = []
    for merchant in config.merchants:
        merchant_id = merchant.id
        probes.append(Probe(merchant_id, "ffn", str(merchant.ffn.base_url)))
        for channel in merchant.channels:
            if getattr(channel, "enabled", True):
                probes.append(Probe(merchant_id, f"{channel.name} ({channel.kind})", str(channel.base_url)))
    return probes


async def probe_all(probes: list[Probe], timeout_s: float = PROBE_TIMEOUT_S) -> list[ProbeResult]:
    """GET each base URL: any answer below 500 proves the API is reachable (auth is checked by `run`)."""
    import aiohttp

    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        return list(await asyncio.gather(*(_probe(session, p) for p in probes)))


async def _probe(session: Any, probe: Probe) -> ProbeResult:
    import aiohttp

    started = time.monotonic()
    try:
        async with session.get(probe.url, allow_redirects=False) as response:
            status = response.status
    except TimeoutError:
        return ProbeResult(probe, False, f"no answer within {session.timeout.total:.0f}s")
    except aiohttp.ClientError as exc:
        return ProbeResult(probe, False, f"{type(exc).__name__}: {exc}")
    elapsed = time.monotonic() - started
    if status >= 500:
        return ProbeResult(probe, False, f"HTTP {status} (server error)")
    return ProbeResult(probe, True, f"HTTP {status} in {elapsed:.2f}s")


async def verify_access(config: Any) -> list[tuple[str, list[str]]]:
    """(merchant/channel, problems) for each enabled channel whose adapter can check its own access
    (Shopify: the app's scopes); a problem starting with ``warning:`` does not fail the check."""
    from daemon.errors import SyncError
    from daemon.wiring.clients import build_channel

    found: list[tuple[str, list[str]]] = []
    for merchant in config.merchants:
        for channel in merchant.enabled_channels:
            shop = build_channel(channel)
            verify = getattr(shop, "verify_access", None)
            try:
                if verify is None:
                    continue
                try:
                    problems = list(await verify())
                except SyncError as exc:
                    problems = [f"cannot read the app's access: {exc}"]
            finally:
                await shop.aclose()
            found.append((f"{merchant.id}/{channel.name}", problems))
    return found


async def verify_webhooks(config: Any) -> list[tuple[str, str]]:
    """(merchant/channel, what the shop has of our webhooks) for each channel with webhooks on, each
    subscription's full address compared with the one registration uses: ``run`` registers them in the
    background; this shows whether the shop has them now."""
    from daemon.errors import SyncError
    from daemon.webhooks.audit import audit
    from daemon.webhooks.credentials import URL_TOKEN_KINDS
    from daemon.webhooks.types import WebhookFlow
    from daemon.wiring.clients import build_channel
    from daemon.wiring.webhooks import load_support

    found: list[tuple[str, str]] = []
    public_url = config.webhooks.public_url
    hooked = [
        (merchant, channel)
        for merchant in config.merchants
        for channel in merchant.enabled_channels
        if channel.webhooks.enabled and public_url is not None
    ]
    tokens, unread = await _url_tokens(
        config, [(m.id, c.name) for m, c in hooked if c.kind in URL_TOKEN_KINDS]
    )
    for merchant, channel in hooked:
        label = f"{merchant.id}/{channel.name}"
        prefix = f"{public_url}/webhooks/{merchant.id}/{channel.name}"
        expected = prefix
        if channel.kind in URL_TOKEN_KINDS:
            token = tokens.get((merchant.id, channel.name))
            if token is None:
                why = unread or "no token on record yet: the daemon creates it when it first registers"
                found.append((label, f"cannot compare the addresses ({why})"))
                continue
            expected = f"{prefix}/{token}"
        shop = build_channel(channel)
        try:
            support = load_support(channel.kind, shop)
            if support is None:
                found.append((label, f"this build has no webhooks for {channel.kind}: polled only"))
                continue
            flows = {WebhookFlow.ORDERS}
            if merchant.product_master == channel.name:
                flows.add(WebhookFlow.PRODUCTS)
            wanted = support.topics(flows)
            try:
                subs = await support.list_webhooks(prefix)
            except SyncError as exc:
                found.append((label, f"cannot list the shop's webhooks: {exc}"))
                continue
        finally:
            await shop.aclose()
        found.append((label, audit(wanted, subs, expected)))
    return found


async def _url_tokens(
    config: Any, channels: list[tuple[str, str]]
) -> tuple[dict[tuple[str, str], str], str | None]:
    """The URL tokens ffn-sync generated (Shopware), read without migrating anything; (tokens, why not)."""
    if not channels:
        return {}, None
    from pathlib import Path

    from daemon.secrets import Secret
    from daemon.store.db import open_database

    dsn = config.database.dsn
    try:
        async with open_database(
            dsn.reveal() if isinstance(dsn, Secret) else dsn, Path(config.daemon.state_dir), pool_max=1
        ) as db:
            rows = await db.pool.fetch(
                "SELECT merchant_id, channel, credential FROM webhook_registrations"
                " WHERE credential IS NOT NULL"
            )
    except Exception as exc:
        return {}, f"cannot read the token from the database: {type(exc).__name__}"
    wanted = set(channels)
    return {
        (r["merchant_id"], r["channel"]): r["credential"]
        for r in rows
        if (r["merchant_id"], r["channel"]) in wanted
    }, None


def _check(args: argparse.Namespace) -> int:
    from daemon.secrets import redact

    config = load_app_config(args)
    probes = probes_for(config)
    print(f"config ok: {len(config.merchants)} merchant(s) from {len(config.sources)} file(s)")
    results = asyncio.run(probe_all(probes))
    width = max((len(f"{r.probe.merchant}/{r.probe.api}") for r in results), default=0)
    for result in results:
        label = f"{result.probe.merchant}/{result.probe.api}".ljust(width)
        verdict = "ok" if result.ok else "FAILED"
        print(redact(f"{label}  {result.probe.url}  {verdict}: {result.detail}"))
    if not all(r.ok for r in results):
        return ExitCode.UNAVAILABLE
    access_ok = True
    for label, problems in asyncio.run(verify_access(config)):
        failures = [p for p in problems if not p.startswith("warning:")]
        access_ok = access_ok and not failures
        print(redact(f"{label}  access {'FAILED' if failures else 'ok'}"))
        for problem in problems:
            print(redact(f"  {problem}"))
    for label, detail in asyncio.run(verify_webhooks(config)):
        # Informational: `run` registers (and re-enables) them in the background.
        print(redact(f"{label}  webhooks: {detail}"))
    return ExitCode.OK if access_ok else ExitCode.CONFIG


COMMANDS = [
    Command(
        name="check",
        help="validate the config and probe every configured API (exit 69 if one is unreachable)",
        description=(
            "Validate the configuration (exit 78 listing every problem) and send one GET to the base URL "
            "of FFN and of every enabled channel, printing one line per API. Exit 69 if any is unreachable. "
            "Then check each shop app's access (Shopify: the scopes it was granted) and name anything "
            "missing (exit 78), and list each channel's webhooks at its shop, each compared with its full "
            "address (a wrong one is fixed by the daemon's next registration pass)."
        ),
        handler=_check,
        order=30,
    )
]
