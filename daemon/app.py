"""Process lifecycle: config → logging → database + migrations → runtime → scheduler → signals → shutdown.

``run_daemon`` is ``ffn-sync run``; ``run_once`` and ``run_migrate`` share the same start-up path.
systemd sees READY=1 after migrations and scheduler start, WATCHDOG=1 from the event loop, STOPPING=1 on
SIGTERM. SIGHUP reloads the config: an invalid file is rejected and the running config stays in force.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from loguru import logger

from daemon import heap
from daemon.errors import ConfigError
from daemon.monitor import PostgresHealth, SchedulerMetrics, scheduled_flows, start_monitor
from daemon.runtime import EmptyRuntime, Runtime, RuntimeFactory
from daemon.scheduler import SyncScheduler, run_all_once
from daemon.sdnotify import Notifier
from daemon.secrets import Secret, redact
from daemon.store.wake import listen_for_wakes
from daemon.webhooks.service import WebhookService, webhooks_of

if TYPE_CHECKING:
    from daemon.config import AppConfig
    from daemon.store.db import Database

ConfigLoader = Callable[[Path], "AppConfig"]
# Sections that belong to the process, not to a merchant: a reload cannot swap them under a running pool.
PROCESS_SECTIONS = ("database", "daemon", "metrics", "webhooks")
_NOT_SETTINGS = {"channels", "source"}


def _load_config(path: Path) -> AppConfig:
    from daemon.config import load_config

    return load_config(path)


def _secret_value(value: Any) -> str | None:
    if value is None:
        return None
    return value.reveal() if isinstance(value, Secret) else str(value)


@contextlib.asynccontextmanager
async def open_store(config: AppConfig) -> AsyncIterator[Database]:
    """The database (embedded when no DSN is configured), migrated to the latest schema."""
    from daemon.store.db import open_database
    from daemon.store.migrations import migrate

    db_config = config.database
    async with open_database(
        _secret_value(db_config.dsn),
        Path(config.daemon.state_dir),
        pool_min=db_config.pool_min,
        pool_max=db_config.pool_max,
    ) as db:
        applied = await migrate(db.pool)
        if applied:
            logger.info("applied migrations {}", ", ".join(map(str, applied)))
        yield db


async def run_once(config: AppConfig, factory: RuntimeFactory) -> bool:
    """Every job of the config once; True when all succeeded."""
    async with open_store(config) as db:
        runtime = await factory(config, db)
        heap.settle()
        started = datetime.now(UTC)
        try:
            ok = await run_all_once(runtime.jobs)
            # Records parked during the pass (dead letters) are failures too, even though every
            # cycle itself completed.
            if await runtime.parked_since(started):
                ok = False
        finally:
            await runtime.aclose()
    logger.info("once: {} job(s), {}", len(runtime.jobs), "all succeeded" if ok else "some FAILED")
    return ok


async def run_migrate(config: AppConfig) -> tuple[list[int], int]:
    """Apply pending migrations; returns (applied versions, schema version now)."""
    from daemon.store.db import open_database
    from daemon.store.migrations import migrate, schema_version

    db_config = config.database
    async with open_database(_secret_value(db_config.dsn), Path(config.daemon.state_dir)) as db:
        applied = await migrate(db.pool)
        return applied, await schema_version(db.pool)


class Daemon:
    """``ffn-sync run``: owns the scheduler, the runtime and the signal handling of one process."""

    def __init__(
        self,
        config_path: Path,
        config: AppConfig,
        *,
        factory: RuntimeFactory,
        load: ConfigLoader = _load_config,
        notifier: Notifier | None = None,
        on_logging_change: Callable[[AppConfig], None] | None = None,
    ) -> None:
        self.config_path = config_path
        self.config = config
        self.factory = factory
        self.load = load
        self.notifier = notifier or Notifier()
        self.on_logging_change = on_logging_change
        self.scheduler = SyncScheduler(observer=SchedulerMetrics())
        self._stop = asyncio.Event()
        self._reload = asyncio.Event()
        self._runtime: Runtime = EmptyRuntime()
        self._retries: set[asyncio.Task[None]] = set()
        self._hooks: WebhookService | None = None
        self._started = time.monotonic()

    @property
    def grace_s(self) -> float:
        return float(self.config.daemon.shutdown_grace_s)

    def request_stop(self) -> None:
        self._stop.set()

    def request_reload(self) -> None:
        self._reload.set()

    async def run(self) -> int:
        # Handlers go in before anything slow: a SIGHUP/SIGTERM during start-up is queued, not fatal.
        with _signal_handlers(
            {
                signal.SIGTERM: self.request_stop,
                signal.SIGINT: self.request_stop,
                signal.SIGHUP: self.request_reload,
            }
        ):
            cancelled = 0
            started = False
            try:
                async with open_store(self.config) as db:
                    runtime = self._runtime = await self.factory(self.config, db)
                    heap.settle()
                    monitor = None
                    hooks: WebhookService | None = None
                    try:
                        self.scheduler.start(runtime.jobs)
                        self._follow_take_overs(runtime)
                        monitor = await start_monitor(
                            self.config.metrics,
                            PostgresHealth(
                                db.pool,
                                flows=lambda: scheduled_flows(self.scheduler),
                                owned=self._owned_merchants,
                            ),
                        )
                        hooks = WebhookService(self.config.webhooks, db.pool, trigger=self.scheduler.trigger)
                        self._hooks = hooks
                        await hooks.apply(webhooks_of(runtime))  # registration runs in the background
                        started = True
                        merchants = len(self.config.merchants)
                        status = f"running {len(runtime.jobs)} job(s) for {merchants} merchant(s)"
                        self.notifier.ready(status)
                        logger.info("ffn-sync started: {}", status)
                        runtime = await self._serve(db, runtime)
                    finally:
                        self.notifier.stopping("stopping")
                        if hooks is not None:  # no trigger reaches the scheduler once it stops
                            await hooks.aclose()
                        if monitor is not None:
                            await monitor.aclose()
                        cancelled = await self.scheduler.stop(self.grace_s)
                        await runtime.aclose()
            finally:
                if started:  # the last line, after the database (and the embedded server) closed
                    self._log_summary(cancelled)
        return 0

    async def _serve(self, db: Database, runtime: Runtime) -> Runtime:
        watchdog = asyncio.create_task(self.notifier.watchdog_loop(), name="sd-watchdog")
        trimmer = asyncio.create_task(heap.trim_periodically(heap.trim_interval_s()), name="malloc-trim")
        self._runtime = runtime
        wakes = asyncio.create_task(
            listen_for_wakes(db.dsn, self._on_login, self._on_nudge, self._on_rewind), name="ffn-login-wakes"
        )
        try:
            while not self._stop.is_set():
                await _wait_any(self._stop, self._reload)
                if self._reload.is_set() and not self._stop.is_set():
                    self._reload.clear()
                    runtime = self._runtime = await self._reload_config(db, runtime)
            logger.info("stop requested, shutting down (grace {:.0f}s)", self.grace_s)
            return runtime
        finally:
            for task in (watchdog, trimmer, wakes, *self._retries):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def _follow_take_overs(self, runtime: Runtime) -> None:
        # Runtimes whose jobs run on events (a stock change, a merchant taken over from another instance:
        # daemon.wiring.build) get the scheduler's trigger, which keeps one run per job at a time.
        follow = getattr(runtime, "bind_trigger", None)
        if follow is not None:
            follow(self.scheduler.trigger)

    def _owned_merchants(self) -> Mapping[str, datetime] | None:
        # Runtimes that share merchants with other instances say which are this one's (see
        # daemon.monitor.health); any other runtime is judged on every merchant it schedules.
        owned_since = getattr(self._runtime, "owned_since", None)
        return None if owned_since is None else cast("Mapping[str, datetime] | None", owned_since())

    def _on_login(self, merchant_id: str) -> None:
        if merchant_id not in {m.id for m in self.config.merchants}:
            # Any database role can NOTIFY: only a configured merchant's login means anything.
            logger.warning("ignored a login announcement for {!r}: no such merchant here", merchant_id[:80])
            return
        logger.info("new FFN consent stored for merchant {}; its flows retry now", merchant_id)
        task = asyncio.create_task(
            self._retry_now(self._runtime, merchant_id, shops=False), name="ffn-login-retry"
        )
        self._retries.add(task)
        task.add_done_callback(self._retries.discard)

    def _on_rewind(self, merchant_id: str | None) -> None:
        """Cursors moved back (``ffn-sync resync``): the runtime reads them again before its next window."""
        forget = getattr(self._runtime, "forget_cursors", None)  # runtimes with cursors in memory
        if forget is not None:
            forget(merchant_id)

    def _on_nudge(self, payload: str) -> None:
        """Another instance received a webhook for a merchant this one may own (``daemon.webhooks.forwarding``)."""
        if self._hooks is None:
            return
        task = asyncio.create_task(self._take_forwarded(self._hooks, payload), name="webhook-nudge")
        self._retries.add(task)
        task.add_done_callback(self._retries.discard)

    async def _take_forwarded(self, hooks: WebhookService, payload: str) -> None:
        await hooks.take_forwarded(payload)

    async def _retry_now(self, runtime: Runtime, merchant: str | None = None, *, shops: bool = True) -> None:
        """Something was fixed: paused shops and waiting records first, then the backing-off jobs run now."""
        try:
            await runtime.retry_now(merchant, shops=shops)
        except Exception as exc:  # the jobs still wake; the records follow at their own time
            logger.warning("could not make waiting records due now: {}", redact(str(exc)))
        self.scheduler.wake(merchant)

    async def _reload_config(self, db: Database, runtime: Runtime) -> Runtime:
        self.notifier.send(
            "RELOADING=1", f"MONOTONIC_USEC={time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}"
        )
        try:
            return await self._apply_reload(db, runtime)
        finally:
            self.notifier.ready(f"running {len(self.scheduler.runners)} job(s)")

    async def _apply_reload(self, db: Database, runtime: Runtime) -> Runtime:
        logger.info("reloading configuration from {}", self.config_path)
        try:
            new = self.load(self.config_path)
        except ConfigError as exc:
            problems = getattr(exc, "problems", None) or [exc]
            logger.error("new configuration rejected, keeping the running one: {}", _one_line(problems))
            return runtime
        if config_fingerprint(new) == config_fingerprint(self.config):
            # Something outside the file was fixed (a shop's permissions, a credential file): try again now.
            logger.info("configuration unchanged")
            await self._retry_now(runtime)
            if self._hooks is not None:  # e.g. a staged webhook secret rotation: registered now
                self._hooks.recheck()
            return runtime
        for change in describe_changes(self.config, new):
            logger.info("config change: {}", change)
        for section in PROCESS_SECTIONS:
            if getattr(new, section) != getattr(self.config, section):
                logger.warning("[{}] changed: takes effect after a restart", section)
        # The runtime is built with the running process sections: e.g. webhooks keep being registered at
        # the address the receiver still serves until the restart.
        new = _keep_process_sections(new, self.config)
        try:
            new_runtime = await self.factory(new, db)
        except Exception as exc:
            logger.opt(exception=exc).error("could not build the new configuration, keeping the running one")
            return runtime
        # The old set is cancelled, awaited and its clients closed before the new set runs: nothing of the
        # old configuration (URLs, credentials) reaches an upstream once the reload has completed.
        await self.scheduler.replace_jobs(new_runtime.jobs, self.grace_s, retire=runtime.aclose)
        self._follow_take_overs(new_runtime)
        if self._hooks is not None:
            try:
                await self._hooks.apply(webhooks_of(new_runtime))
            except Exception as exc:  # e.g. the port is taken: the flows still poll
                logger.error("webhooks not served after the reload: {}", redact(str(exc)))
        await self._retry_now(new_runtime)
        self.config = new
        if self.on_logging_change is not None:
            self.on_logging_change(self.config)
        logger.info("configuration reloaded: {} job(s) scheduled", len(new_runtime.jobs))
        return new_runtime

    def _log_summary(self, cancelled: int) -> None:
        ok, failed = self.scheduler.totals
        logger.info(
            "ffn-sync stopped after {}: {} cycle(s) ok, {} failed{}",
            _duration(time.monotonic() - self._started),
            ok,
            failed,
            f", {cancelled} cancelled at shutdown" if cancelled else "",
        )


@contextlib.contextmanager
def _signal_handlers(handlers: dict[signal.Signals, Callable[[], None]]) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    for signum, handler in handlers.items():
        loop.add_signal_handler(signum, handler)
    try:
        yield
    finally:
        for signum in handlers:
            loop.remove_signal_handler(signum)


async def _wait_any(*events: asyncio.Event) -> None:
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


def _one_line(problems: list[Any]) -> str:
    return "; ".join(str(problem) for problem in problems)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def _keep_process_sections(new: AppConfig, running: AppConfig) -> AppConfig:
    """The new merchants, but the process sections the running pool/state dir were built from."""
    return new.model_copy(update={section: getattr(running, section) for section in PROCESS_SECTIONS})


def config_fingerprint(config: AppConfig) -> str:
    return config.fingerprint()


def describe_changes(old: AppConfig, new: AppConfig) -> list[str]:
    """Human-readable merchant/channel additions, removals and changes."""
    before = {m.id: m for m in old.merchants}
    after = {m.id: m for m in new.merchants}
    changes = [f"merchant {m} added" for m in sorted(after.keys() - before.keys())]
    changes += [f"merchant {m} removed" for m in sorted(before.keys() - after.keys())]
    for merchant_id in sorted(before.keys() & after.keys()):
        old_m, new_m = before[merchant_id], after[merchant_id]
        old_c = {c.name: c for c in old_m.channels}
        new_c = {c.name: c for c in new_m.channels}
        changes += [f"channel {merchant_id}/{c} added" for c in sorted(new_c.keys() - old_c.keys())]
        changes += [f"channel {merchant_id}/{c} removed" for c in sorted(old_c.keys() - new_c.keys())]
        changes += [
            f"channel {merchant_id}/{c} changed"
            for c in sorted(old_c.keys() & new_c.keys())
            if old_c[c] != new_c[c]
        ]
        if old_m.model_dump(exclude=_NOT_SETTINGS) != new_m.model_dump(exclude=_NOT_SETTINGS):
            changes.append(f"merchant {merchant_id} settings changed")
    return changes
