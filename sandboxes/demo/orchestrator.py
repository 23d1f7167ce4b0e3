"""``ffn-sync demo``: the real daemon (``daemon.app.Daemon``) in this process against sandbox processes.

Timeline: sandboxes up → catalogue in every shop → Postgres + FFN consent → daemon started → products
reach FFN → FFN stock booked → autopilot fulfiller on → a stream of paid orders → (quiet tail so the last
orders can ship) → stop on ``--duration`` or Ctrl-C → summary read back from sandboxes and database.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loguru import logger

from sandboxes.demo.collect import collect_summary
from sandboxes.demo.observer import DemoObserver
from sandboxes.demo.summary import DemoSummary
from sandboxes.world.catalogue import (
    CreatedOrder,
    book_stock,
    catalogue,
    new_catalogue,
    order_stream,
    wait_for_ffn_products,
)
from sandboxes.world.errors import WorldError, WorldUsageError
from sandboxes.world.merchant import MerchantFile, Timing
from sandboxes.world.stage import Stage, StageOptions, staged

PRODUCTS_TIMEOUT_S = 60.0
QUIET_TAIL_S = 12.0  # no new orders at the end: time for the last ones to be exported and shipped


@dataclass(frozen=True)
class DemoOptions:
    duration_s: float = 60.0
    orders_per_s: float = 2.0
    shops: tuple[str, ...] | None = None
    work_dir: Path | None = None
    keep: bool = False
    timing: Timing = field(default_factory=Timing)
    catalogue_size: int = 12
    stock_level: int = 500
    ship_after_s: float = 2.0
    partial_ratio: float = 0.25

    def __post_init__(self) -> None:
        if self.duration_s <= 0:
            raise WorldUsageError("--duration must be > 0 seconds")
        if self.orders_per_s <= 0:
            raise WorldUsageError("--orders-per-s must be > 0")


def _runtime_factory(observer: DemoObserver) -> Callable[[Any, Any], Awaitable[Any]]:
    from daemon.wiring import build_runtime

    async def factory(config: Any, db: Any) -> Any:
        return await build_runtime(config, db, observer=observer)

    return factory


@dataclass
class _Progress:
    created: list[CreatedOrder] = field(default_factory=list)
    waiting_for: str | None = "the products to reach FFN (no orders are placed before)"


def _metrics_observer() -> Any:
    """The daemon's own metrics observer when this build has one (the demo's observer wraps it)."""
    try:
        from daemon.monitor import MetricsObserver
    except ImportError:
        return None
    return MetricsObserver()


async def _drive_world(stage: Stage, options: DemoOptions, orders_until: float, progress: _Progress) -> None:
    products = catalogue(options.catalogue_size)
    await wait_for_ffn_products(stage.ffn, [p.sku for p in products], PRODUCTS_TIMEOUT_S)
    progress.waiting_for = None
    logger.info("demo: all {} products are in FFN; the warehouse books stock", len(products))
    await book_stock(stage.ffn, [p.sku for p in products], options.stock_level)
    await stage.ffn.put(
        "autopilot", {"ship_after_s": options.ship_after_s, "partial_ratio": options.partial_ratio}
    )
    logger.info(
        "demo: FFN autopilot ships every outbound after {:g} s ({:.0%} partially first)",
        options.ship_after_s,
        options.partial_ratio,
    )
    await order_stream(stage.shops, products, options.orders_per_s, orders_until, progress.created)
    logger.info("demo: no new orders from now on; letting the last ones ship")


async def _run_daemon(
    stage: Stage, options: DemoOptions, observer: DemoObserver, progress: _Progress
) -> tuple[float, bool]:
    """Run until the duration is over or the daemon stopped itself (Ctrl-C); (seconds run, interrupted)."""
    from daemon.app import Daemon
    from daemon.config import load_config

    def load(path: Path) -> Any:
        return load_config(path, environ=stage.env)

    try:
        config = load(stage.config_path)
    except Exception as exc:
        raise WorldError(f"the generated config {stage.config_path} was refused: {exc}") from exc
    daemon = Daemon(stage.config_path, config, factory=_runtime_factory(observer), load=load)
    started = time.monotonic()
    orders_until = started + max(options.duration_s * 0.6, options.duration_s - QUIET_TAIL_S)
    daemon_task = asyncio.create_task(daemon.run(), name="demo-daemon")
    world_task = asyncio.create_task(_drive_world(stage, options, orders_until, progress), name="demo-world")
    interrupted = False
    try:
        deadline = started + options.duration_s
        pending = {daemon_task, world_task}
        while daemon_task in pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            done, pending = await asyncio.wait(
                pending, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
            )
            if world_task in done and world_task.exception() is not None:
                break
        interrupted = daemon_task.done()
    finally:
        daemon.request_stop()
        world_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await world_task
        await daemon_task  # re-raises a crash of the daemon
    failure = world_task.exception() if world_task.done() and not world_task.cancelled() else None
    if failure is not None:
        raise failure
    return time.monotonic() - started, interrupted


async def run_demo(options: DemoOptions) -> DemoSummary:
    stage_options = StageOptions(
        shops=options.shops,
        merchant=MerchantFile(timing=options.timing),
        work_dir=options.work_dir,
        keep=options.keep,
        metrics=True,
    )
    async with staged(stage_options) as stage:
        await new_catalogue(stage.shops.values(), options.catalogue_size)
        logger.info(
            "demo: {} products in every shop ({}); config {}",
            options.catalogue_size,
            ", ".join(stage.shops),
            stage.config_path,
        )
        if stage.metrics_port:
            logger.info("demo: metrics on http://127.0.0.1:{}/metrics", stage.metrics_port)
        observer = DemoObserver(_metrics_observer())
        progress = _Progress()
        ran_s, interrupted = await _run_daemon(stage, options, observer, progress)
        summary = DemoSummary(
            duration_s=ran_s,
            orders_per_s=options.orders_per_s,
            shops=[],
            order_latencies_s=list(observer.order_latencies_s),
            interrupted=interrupted,
            stalled=f"the run ended while waiting for {progress.waiting_for}"
            if progress.waiting_for
            else None,
        )
        return await collect_summary(summary, stage.ffn, stage.shops, progress.created, stage.pool)
