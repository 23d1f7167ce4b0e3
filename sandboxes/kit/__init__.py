"""What every sandbox shares: request log, fault injection, latency, and the common control routes.

Each vendor sandbox builds its ``aiohttp.web.Application`` with ``make_app`` and adds its own
routes; the ``/_sandbox/requests``, ``/_sandbox/faults`` and ``/_sandbox/reset`` endpoints are
identical for all of them (see DESIGN.md, "control API").
"""

from sandboxes.kit.faults import Faults
from sandboxes.kit.hosts import loopback_hosts
from sandboxes.kit.kit import SandboxKit, make_app, serve
from sandboxes.kit.requestlog import LoggedExchange, RequestLog

__all__ = ["Faults", "LoggedExchange", "RequestLog", "SandboxKit", "loopback_hosts", "make_app", "serve"]
