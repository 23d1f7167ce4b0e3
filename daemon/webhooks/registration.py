"""Registration of our webhooks at each shop: in the background after start and every reload (readiness never
waits for a shop), again every ``RECHECK_S`` (a shop that disabled or deleted ours after failed deliveries gets
them back), and after a failure with a growing delay. Each pass is the adapter's idempotent ``register``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from loguru import logger

from daemon.clock import SYSTEM_CLOCK, Clock
from daemon.monitor.metrics import SyncMetrics, default_metrics
from daemon.secrets import redact
from daemon.store import webhooks as store
from daemon.webhooks.types import RegistrationReport, WebhookCredentials, WebhookSupport

RECHECK_S = 3600.0
RETRY_FIRST_S = 60.0
RETRY_MAX_S = 1800.0

STATE_OFF = "off"
STATE_REGISTERED = "registered"
STATE_FAILED = "failed"


@dataclass(frozen=True)
class Target:
    """One channel's wanted webhooks; ``topics`` empty: webhooks are off, remove ours."""

    merchant: str
    channel: str
    kind: str
    support: WebhookSupport
    credentials: WebhookCredentials
    topics: tuple[str, ...]
    address_prefix: str  # <public_url>/webhooks/<merchant>/<channel>

    def __repr__(self) -> str:
        return f"Target({self.merchant}/{self.channel}, topics={list(self.topics)})"

    @property
    def address(self) -> str:
        # Shopware signs nothing: its URL carries the channel's token.
        token = self.credentials.token
        return self.address_prefix if token is None else f"{self.address_prefix}/{token.reveal()}"

    @property
    def label(self) -> str:
        return f"{self.merchant}/{self.channel}"


def describe(report: RegistrationReport) -> str:
    parts = [
        f"{what} {', '.join(topics)}"
        for what, topics in (
            ("created", report.created),
            ("updated", report.updated),
            ("re-enabled", report.re_enabled),
            ("removed", report.removed),
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

    def start(self, targets: Sequence[Target]) -> None:
        """Replace the running loops (one per channel) with loops for ``targets``; returns at once."""
        for task in self._tasks.values():
            task.cancel()
        self._tasks = {
            (t.merchant, t.channel): asyncio.create_task(self._loop(t), name=f"webhooks {t.label}")
            for t in targets
        }

    async def aclose(self) -> None:
        tasks, self._tasks = list(self._tasks.values()), {}
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self, target: Target) -> None:
        delay = self.retry_first_s
        while True:
            ok = await self.register_once(target)
            if ok and not target.topics:
                return  # removed: nothing to keep up
            await asyncio.sleep(self.recheck_s if ok else delay)
            delay = self.retry_first_s if ok else min(delay * 2, RETRY_MAX_S)

    async def register_once(self, target: Target) -> bool:
        """One idempotent pass; True when the shop now has what we want. Never raises (but cancellation)."""
        wanted = bool(target.topics)
        try:
            if not wanted:
                known = await store.registrations(self.pool, target.merchant, target.channel)
                if not known or known[0].state == STATE_OFF:
                    return True  # never registered (or already removed): nothing to ask the shop
            await self._forget_old_address(target)
            report = await target.support.register(
                target.address, target.topics, target.credentials, address_prefix=target.address_prefix
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
            self.metrics.webhook_registered.labels(target.merchant, target.channel).set(0)
            await self._record(target, STATE_FAILED, None, message)
            return False
        changes = describe(report)
        if changes:
            logger.info("webhooks of {}: {}", target.label, changes)
        else:
            logger.debug("webhooks of {}: registered as wanted, nothing changed", target.label)
        self.metrics.webhook_registered.labels(target.merchant, target.channel).set(1 if wanted else 0)
        await self._record(target, STATE_REGISTERED if wanted else STATE_OFF, _subscriptions(report), None)
        return True

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
            )
        except Exception as exc:  # the state is for status/check; the webhooks themselves work
            logger.warning("webhooks of {}: could not record the registration: {}", target.label, exc)
