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
    """(merchant/channel, what the shop has of our webhooks) for each channel with webhooks on: ``run``
    registers them in the background; this shows whether the shop has them now."""
    from daemon.errors import SyncError
    from daemon.webhooks.types import WebhookFlow
    from daemon.wiring.clients import build_channel
    from daemon.wiring.webhooks import load_support

    found: list[tuple[str, str]] = []
    public_url = config.webhooks.public_url
    for merchant in config.merchants:
        for channel in merchant.enabled_channels:
            if not channel.webhooks.enabled or public_url is None:
                continue
            label = f"{merchant.id}/{channel.name}"
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
                    subs = await support.list_webhooks(f"{public_url}/webhooks/{merchant.id}/{channel.name}")
                except SyncError as exc:
                    found.append((label, f"cannot list the shop's webhooks: {exc}"))
                    continue
            finally:
                await shop.aclose()
            active = {s.topic for s in subs if s.active}
            missing = [t for t in wanted if t not in {s.topic for s in subs}]
            inactive = [s.topic for s in subs if not s.active]
            detail = f"{len(active & set(wanted))}/{len(wanted)} topics registered and active"
            if missing:
                detail += f"; missing: {', '.join(missing)}"
            if inactive:
                detail += f"; disabled by the shop: {', '.join(inactive)} (run re-enables them)"
            found.append((label, detail))
    return found


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
            "missing (exit 78)."
        ),
        handler=_check,
        order=30,
    )
]
