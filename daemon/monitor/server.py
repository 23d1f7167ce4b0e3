"""``/metrics`` (Prometheus text format) and ``/healthz`` on a loopback address, plus the stall watcher.

Neither endpoint has authentication, so only loopback addresses are accepted; put a reverse proxy in
front to reach them from elsewhere.
"""

from __future__ import annotations

import asyncio
import ipaddress
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, disable_created_metrics

from daemon.clock import SYSTEM_CLOCK, Clock
from daemon.config import MetricsConfig
from daemon.errors import ConfigError
from daemon.monitor.health import HealthSource, health_document
from daemon.monitor.metrics import SyncMetrics, default_metrics
from daemon.monitor.watcher import WATCH_INTERVAL_S, HealthWatcher
from daemon.secrets import redact

HEALTH_TIMEOUT_S = 5.0
_JSON = "application/json"


class MonitorStartError(RuntimeError):
    """The metrics port could not be opened."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_monitor_app(metrics: SyncMetrics, health: HealthSource) -> web.Application:
    # A fleet exposes a few hundred thousand samples (1,000 merchants × 12 flows × ~30 lines): rendering
    # them takes ~0.5 s of CPU, which on the loop would make every job due meanwhile late. One thread of its own,
    # not asyncio's default pool: glibc keeps a malloc arena per thread that has allocated, and each
    # thread that rendered a fleet's scrape kept ~40 MB of it (six pool threads: +120 MB RSS measured).
    renderer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="metrics-render")

    async def metrics_page(request: web.Request) -> web.StreamResponse:
        # Streamed a chunk at a time (each made in the render thread), never the whole text at once.
        loop = asyncio.get_running_loop()
        chunks = metrics.render_chunks()
        response = web.StreamResponse(headers={"Content-Type": CONTENT_TYPE_LATEST})
        await response.prepare(request)
        while (chunk := await loop.run_in_executor(renderer, next, chunks, None)) is not None:
            await response.write(chunk)
        await response.write_eof()
        return response

    async def healthz(request: web.Request) -> web.Response:
        try:
            statuses = await asyncio.wait_for(health.flow_statuses(), HEALTH_TIMEOUT_S)
        except Exception as exc:
            metrics.health_check_errors.inc()
            reason = f"cannot read flow health: {type(exc).__name__}: {redact(str(exc))}"
            return _json({"status": "error", "error": reason}, 503)
        healthy, body = health_document(statuses)
        return _json(body, 200 if healthy else 503)

    async def stop_renderer(app: web.Application) -> None:
        renderer.shutdown(wait=False)

    app = web.Application()
    app.router.add_get("/metrics", metrics_page)
    app.router.add_get("/healthz", healthz)
    app.on_cleanup.append(stop_renderer)
    return app


def _json(body: object, status: int) -> web.Response:
    return web.Response(body=orjson.dumps(body) + b"\n", status=status, content_type=_JSON)


@dataclass
class MonitorServer:
    """Handle on the running monitor; ``port``/``url`` are None when ``[metrics] enabled = false``."""

    metrics: SyncMetrics
    watcher: HealthWatcher
    runner: web.AppRunner | None = None
    host: str | None = None
    port: int | None = None

    @property
    def url(self) -> str | None:
        if self.port is None or self.host is None:
            return None
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def aclose(self) -> None:
        await self.watcher.aclose()
        if self.runner is not None:
            runner, self.runner = self.runner, None
            await runner.cleanup()


async def start_monitor(
    config: MetricsConfig,
    health: HealthSource,
    *,
    metrics: SyncMetrics | None = None,
    clock: Clock = SYSTEM_CLOCK,
    watch_interval_s: float = WATCH_INTERVAL_S,
) -> MonitorServer:
    """Start the stall watcher and, when enabled, the HTTP endpoints. Close with ``aclose()``."""
    # No ``_created`` sample per counter and histogram child: nothing of ours reads them, and at a fleet's
    # cardinality they are a fifth of every scrape's lines. (A process-wide switch of prometheus-client.)
    disable_created_metrics()  # type: ignore[no-untyped-call]
    chosen = metrics or default_metrics()
    if config.enabled and not is_loopback(config.host):
        raise ConfigError(
            f"[metrics] host = {config.host!r}: /metrics and /healthz have no authentication, so only a"
            " loopback address (127.0.0.1, ::1, localhost) is allowed; put a reverse proxy in front to"
            " reach them from elsewhere"
        )
    watcher = HealthWatcher(health, chosen, clock=clock, interval_s=watch_interval_s)
    server = MonitorServer(chosen, watcher)
    if config.enabled:
        runner = web.AppRunner(make_monitor_app(chosen, health), access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, config.host, config.port, reuse_address=True)
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise MonitorStartError(
                f"cannot listen on {config.host}:{config.port} for /metrics and /healthz: {exc.strerror}."
                " Is another ffn-sync running? Change [metrics] port or set [metrics] enabled = false"
            ) from None
        server.runner = runner
        server.host = config.host
        server.port = _bound_port(runner, config.port)
    watcher.start()
    return server


def _bound_port(runner: web.AppRunner, fallback: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return fallback
