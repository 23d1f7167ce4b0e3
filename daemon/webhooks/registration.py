"""Registration of our webhooks at each shop: in the background after start and every reload (readiness never
waits for a shop), again every ``RECHECK_S`` (a shop that disabled or deleted ours after failed deliveries gets
them back), and after a failure with a growing delay. Each pass is the adapter's idempotent ``register``.

Generated credentials are read from Postgres at every pass: a rotation staged there (``ffn-sync webhooks
--rotate``) is registered while the receiver accepts old and new, then only the new one is accepted. At
start and every reload the channels no longer configured with webhooks are cleaned up (``leftovers``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from loguru import logger

from daemon.clock import SYSTEM_CLOCK, Clock
from daemon.monitor.metrics import SyncMetrics, default_metrics
from daemon.secrets import Secret, redact
from daemon.store import webhooks as store
from daemon.webhooks.credentials import GENERATED_KINDS, generated, what_rotates
from daemon.webhooks.endpoint import Endpoint
from daemon.webhooks.leftovers import Connect, remove_leftovers
from daemon.webhooks.types import RegistrationReport, WebhookCredentials, WebhookSupport

RECHECK_S = 3600.0
RETRY_FIRST_S = 60.0
RETRY_MAX_S = 1800.0

STATE_REGISTERED = "registered"
STATE_FAILED = "failed"


@dataclass(frozen=True)
class Target:
    """One channel's wanted webhooks."""

    merchant: str
    channel: str
    kind: str
    support: WebhookSupport
    credentials: WebhookCredentials
    topics: tuple[str, ...]
    address_prefix: str  # <public_url>/webhooks/<merchant>/<channel>
    shop_url: str | None = None  # recorded: names the shop if the channel later leaves the merchant file
    # The receiver's endpoint of the channel: a pass keeps what it accepts in step with a rotation.
    endpoint: Endpoint | None = None

    def __repr__(self) -> str:
        return f"Target({self.merchant}/{self.channel}, topics={list(self.topics)})"

    @property
    def address(self) -> str:
        return self.address_with(self.credentials)

    def address_with(self, credentials: WebhookCredentials) -> str:
        # Shopware signs nothing: its URL carries the channel's token.
        token = credentials.token
        return self.address_prefix if token is None else f"{self.address_prefix}/{token.reveal()}"

    @property
    def label(self) -> str:
        return f"{self.merchant}/{self.channel}"


def describe(report: RegistrationReport) -> str:
    """What a pass made or fixed, in one line (each deletion has a line of its own)."""
    parts = [
        f"{what} {', '.join(topics)}"
        for what, topics in (
            ("created", report.created),
            ("updated", report.updated),
            ("re-enabled", report.re_enabled),
        )
        if topics
    ]
    return "; ".join(parts)


def _subscriptions(report: RegistrationReport) -> list[dict[str, Any]]:
    # Addresses stay out: Shopware's carries the token.
    return [{"topic": s.topic, "remote_id": s.remote_id, "active": s.active} for s in report.subscriptions]


class Registrar:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        metrics: SyncMetrics | None = None,
        clock: Clock = SYSTEM_CLOCK,
        recheck_s: float = RECHECK_S,
        retry_first_s: float = RETRY_FIRST_S,
    ) -> None:
        self.pool = pool
        self.metrics = metrics or default_metrics()
        self.clock = clock
        self.recheck_s = recheck_s
        self.retry_first_s = retry_first_s
        self._tasks: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._leftovers: asyncio.Task[None] | None = None
        self._owns: Callable[[str], Awaitable[bool]] | None = None

    def start(
        self,
        targets: Sequence[Target],
        connect: Connect | None = None,
        *,
        owns: Callable[[str], Awaitable[bool]] | None = None,
    ) -> None:
        """Replace the running loops (one per channel) with loops for ``targets``, and with ``connect``
        remove what we registered for channels that are not among them; returns at once. With ``owns``
        (several instances) a channel is registered only by the instance that owns its merchant: passes of
        several instances at once would each create the missing webhooks."""
        self._owns = owns
        for task in (*self._tasks.values(), *([self._leftovers] if self._leftovers else [])):
            task.cancel()
        self._tasks = {
            (t.merchant, t.channel): asyncio.create_task(self._loop(t), name=f"webhooks {t.label}")
            for t in targets
        }
        self._leftovers = None
        if connect is not None:
            self._leftovers = asyncio.create_task(
                self._leftovers_loop(frozenset(self._tasks), connect), name="webhooks of removed channels"
            )

    async def _leftovers_loop(self, wanted: frozenset[tuple[str, str]], connect: Connect) -> None:
        delay = self.retry_first_s
        while not await remove_leftovers(self.pool, wanted, connect):
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)

    async def aclose(self) -> None:
        tasks, self._tasks = list(self._tasks.values()), {}
        if self._leftovers is not None:
            tasks.append(self._leftovers)
            self._leftovers = None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self, target: Target) -> None:
        delay = self.retry_first_s
        while True:
            if self._owns is not None and not await self._owns(target.merchant):
                # Another instance registers it; this one looks again in case it takes the merchant over.
                await asyncio.sleep(min(self.retry_first_s, self.recheck_s))
                continue
            ok = await self.register_once(target)
            await asyncio.sleep(self.recheck_s if ok else delay)
            delay = self.retry_first_s if ok else min(delay * 2, RETRY_MAX_S)

    async def register_once(self, target: Target) -> bool:
        """One idempotent pass; True when the shop now has what we want. Never raises (but cancellation)."""
        try:
            credentials, staged = await self._credentials(target)
            await self._forget_old_address(target)
            report = await target.support.register(
                target.address_with(credentials),
                target.topics,
                credentials,
                address_prefix=target.address_prefix,
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            message = redact(f"{type(exc).__name__}: {exc}")
            logger.warning(
                "webhooks of {}: registration failed, polling goes on and registration is retried: {}",
                target.label,
                message,
            )
            self.metrics.channels.registered((target.merchant, target.channel), False)
            await self._record(target, STATE_FAILED, None, message)
            return False
        changes = describe(report)
        for topic in report.removed:
            why = "a second copy" if topic in target.topics else "no longer configured"
            logger.info("webhooks of {}: deleted {} at the shop ({})", target.label, topic, why)
        if changes:
            logger.info("webhooks of {}: {}", target.label, changes)
        elif not report.removed:
            logger.debug("webhooks of {}: registered as wanted, nothing changed", target.label)
        self.metrics.channels.registered((target.merchant, target.channel), True)
        await self._record(target, STATE_REGISTERED, _subscriptions(report), None)
        if staged is not None:
            await self._promote(target, staged)
        return True

    async def _credentials(self, target: Target) -> tuple[WebhookCredentials, Secret | None]:
        """What to register (and the receiver to accept) now; with a staged rotation also the new credential,
        registered while the old one is still accepted."""
        if target.kind not in GENERATED_KINDS:
            return target.credentials, None
        current, staged = await store.generated_credentials(self.pool, target.merchant, target.channel)
        if current is None:  # the wiring created it; only a row deleted meanwhile gets here
            return target.credentials, None
        credentials = generated(target.kind, staged or current, current if staged is not None else None)
        if target.endpoint is not None:
            target.endpoint.credentials = credentials
        return credentials, staged

    async def _promote(self, target: Target, staged: Secret) -> None:
        if not await store.promote_credential(self.pool, target.merchant, target.channel, staged):
            return  # rotated again meanwhile: the next pass registers that one
        if target.endpoint is not None:
            target.endpoint.credentials = generated(target.kind, staged)
        logger.info(
            "webhooks of {}: the shop's webhooks now use the new {}; the old one is no longer accepted",
            target.label,
            what_rotates(target.kind),
        )

    async def _forget_old_address(self, target: Target) -> None:
        """A changed public_url: ours under the old address are removed before the new ones are made."""
        known = await store.registrations(self.pool, target.merchant, target.channel)
        old = known[0].address_prefix if known else None
        if old is None or old == target.address_prefix:
            return
        report = await target.support.register(old, (), target.credentials, address_prefix=old)
        if report.removed:
            logger.info(
                "webhooks of {}: removed {} at the old address", target.label, ", ".join(report.removed)
            )

    async def _record(
        self, target: Target, state: str, subscriptions: list[dict[str, Any]] | None, error: str | None
    ) -> None:
        try:
            await store.record_registration(
                self.pool,
                target.merchant,
                target.channel,
                target.kind,
                state=state,
                topics=target.topics,
                subscriptions=subscriptions,
                error=error,
                at=self.clock.now(),
                address_prefix=target.address_prefix,
                shop_url=target.shop_url,
            )
        except Exception as exc:  # the state is for status/check; the webhooks themselves work
            logger.warning("webhooks of {}: could not record the registration: {}", target.label, exc)
