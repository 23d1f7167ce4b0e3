"""Interference on the wire between an adapter and its sandbox, deterministic where the kit's fault knobs
are random: the next N answers replaced by an error in the vendor's own shape, answers cut off mid-JSON,
answers rewritten (an order the adapter cannot map). Installed as the innermost middleware of a sandbox
app before it starts, so the kit still logs what the adapter really received."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from sandboxes.kit.faults import Faults
from sandboxes.kit.kit import CONTROL_PREFIX, KIT_KEY

# Answers made here, not by the vendor logic; spec checks of the traffic leave them out.
TAMPERED = "X-Contract-Tampered"
Rewrite = Callable[[Any], Any]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Wire:
    failures: list[tuple[int, float]] = field(default_factory=list)  # (status, Retry-After s), next first
    failing: tuple[int, float] | None = None  # every answer, until cleared
    garbled: bool = False
    rewrites: list[Rewrite] = field(default_factory=list)
    tampered: int = 0

    def fail_next(self, status: int, times: int = 1, retry_after_s: float = 0.0) -> None:
        self.failures.extend([(status, retry_after_s)] * times)

    def fail_always(self, status: int, retry_after_s: float = 0.0) -> None:
        self.failing = (status, retry_after_s)

    def garble(self) -> None:
        self.garbled = True

    def rewrite(self, change: Rewrite) -> None:
        self.rewrites.append(change)

    def clear(self) -> None:
        self.failures.clear()
        self.failing = None
        self.garbled = False

    def install(self, app: web.Application) -> None:
        app.middlewares.append(self._middleware)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(CONTROL_PREFIX):
            return await handler(request)
        fault = self.failures.pop(0) if self.failures else self.failing
        if fault is not None:
            status, retry_after_s = fault
            kit = request.app[KIT_KEY]
            answer = kit.fault_response(status, Faults(retry_after_s=retry_after_s))
            return self._mark(answer)
        response = await handler(request)
        if self.garbled:
            cut = web.Response(body=b'{"data": {"orders": [{"id": ', content_type="application/json")
            return self._mark(cut)
        if self.rewrites and isinstance(response, web.Response) and isinstance(response.body, bytes):
            try:
                data = orjson.loads(response.body)
            except orjson.JSONDecodeError:
                return response
            for change in self.rewrites:
                data = change(data)
            changed = web.Response(
                body=orjson.dumps(data), status=response.status, content_type="application/json"
            )
            for name, value in response.headers.items():
                if name.lower() not in ("content-length", "content-type"):
                    changed.headers[name] = value
            return changed
        return response

    def _mark(self, response: web.StreamResponse) -> web.StreamResponse:
        self.tampered += 1
        response.headers[TAMPERED] = "1"
        return response


def walk(data: Any, visit: Callable[[dict[str, Any]], None]) -> Any:
    """Call ``visit`` on every JSON object in ``data`` (depth first) and return ``data``."""
    if isinstance(data, dict):
        visit(data)
        for value in data.values():
            walk(value, visit)
    elif isinstance(data, list):
        for value in data:
            walk(value, visit)
    return data
