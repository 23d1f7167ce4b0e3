"""The webhook side of the process: receiver, registrar and the delivery ledger, applied at start and reload.

The runtime (built by the wiring) says which channels have webhooks (``WebhookSet``); the lifecycle hands
the set to ``WebhookService.apply`` and the scheduler's ``trigger`` to its constructor. The receiver only
listens once some channel has webhooks on; ``[webhooks]`` itself takes effect after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

import asyncpg
from aiohttp import web
from loguru import logger

from daemon.clock import SYSTEM_CLOCK, Clock
from daemon.config.webhooks import WebhooksConfig
from daemon.monitor.metrics import SyncMetrics, default_metrics
from daemon.store import webhooks as store
from daemon.webhooks.endpoint import Endpoint
from daemon.webhooks.forwarding import Owns, take_forwarded
from daemon.webhooks.leftovers import Connect
from daemon.webhooks.receiver import Trigger, WebhookReceiver
from daemon.webhooks.registration import Registrar, Target

LEDGER_FLUSH_S = 5.0  # last_delivery_at is written at most this often per channel, not per delivery
EX_CONFIG = 78


class WebhookListenError(RuntimeError):
    exit_code = EX_CONFIG


@dataclass(frozen=True)
class WebhookSet:
    """What the runtime offers: endpoints to serve, registrations to keep, and (``connect``) the access to
    the shops of channels whose webhooks are no longer wanted, to remove ours there."""

    endpoints: tuple[Endpoint, ...] = ()
    targets: tuple[Target, ...] = ()
    connect: Connect | None = None
    # Several instances: whether this one owns a merchant (None: it owns them all). Only the owner
    # registers a merchant's webhooks and runs the nudges other instances hand over.
    owns: Owns | None = None


@runtime_checkable
class WebhookAware(Protocol):
    webhooks: WebhookSet


def webhooks_of(runtime: object) -> WebhookSet:
    return runtime.webhooks if isinstance(runtime, WebhookAware) else WebhookSet()


class WebhookService:
    def __init__(
        self,
        config: WebhooksConfig,
        pool: asyncpg.Pool,
        *,
        trigger: Trigger,
        metrics: SyncMetrics | None = None,
        clock: Clock = SYSTEM_CLOCK,
        registrar: Registrar | None = None,
    ) -> None:
        self.config = config
        self.pool = pool
        self.metrics = metrics or default_metrics()
        self.receiver = WebhookReceiver(
            config, trigger=trigger, on_accepted=self._note_delivery, metrics=self.metrics, clock=clock
        )
        self.registrar = registrar or Registrar(pool, metrics=self.metrics, clock=clock)
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        self._deliveries: dict[tuple[str, str], datetime] = {}
        self._ledger: asyncio.Task[None] | None = None
        self._hooks = WebhookSet()

    async def apply(self, hooks: WebhookSet) -> None:
        """Serve ``hooks.endpoints`` (listening from the first one on), register ``hooks.targets`` and remove
        ours of channels no longer wanted, in the background."""
        if hooks.endpoints and self._runner is None:
            await self._listen()
        self.receiver.serve(hooks.endpoints)
        self._hooks = hooks
        self.registrar.start(hooks.targets, hooks.connect, owns=hooks.owns)

    def recheck(self) -> None:
        """A registration pass now with the running set (a reload with an unchanged file: something at a
        shop was fixed, or a rotation was staged); returns at once."""
        self.registrar.start(self._hooks.targets, self._hooks.connect, owns=self._hooks.owns)

    async def take_forwarded(self, payload: str) -> str | None:
        """A nudge another instance handed over (``daemon.webhooks.forwarding``); the job triggered."""
        return await take_forwarded(payload, self.receiver.endpoints, self.receiver.trigger, self._hooks.owns)

    async def aclose(self) -> None:
        await self.registrar.aclose()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
        if self._ledger is not None:
            self._ledger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ledger
        await self._flush()

    async def _listen(self) -> None:
        config = self.config
        runner = web.AppRunner(self.receiver.make_app(), access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, config.host, config.port, reuse_address=True)
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise WebhookListenError(
                f"cannot listen on {config.host}:{config.port} for webhooks: {exc.strerror}. Is another"
                " ffn-sync running? Change [webhooks] port, or switch the channels' webhooks off"
            ) from None
        self._runner = runner
        self.port = next(
            (int(a[1]) for a in runner.addresses if isinstance(a, tuple) and len(a) >= 2), config.port
        )
        self._ledger = asyncio.create_task(self._ledger_loop(), name="webhook-ledger")
        logger.info(
            "webhook receiver listening on {}:{} (public: {})", config.host, self.port, config.public_url
        )

    def _note_delivery(self, endpoint: Endpoint, at: datetime) -> None:
        self._deliveries[(endpoint.merchant, endpoint.channel)] = at

    async def _ledger_loop(self) -> None:
        while True:
            await asyncio.sleep(LEDGER_FLUSH_S)
            await self._flush()
            self.receiver.rejects.flush()  # a flood's last summary, even when nothing more is refused

    async def _flush(self) -> None:
        pending, self._deliveries = self._deliveries, {}
        for (merchant, channel), at in pending.items():
            try:
                await store.record_delivery(self.pool, merchant, channel, at)
            except Exception as exc:  # status shows an older time; the metric has the live one
                logger.warning(
                    "could not record the last webhook delivery of {}/{}: {}", merchant, channel, exc
                )
