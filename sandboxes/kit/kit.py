"""The common app skeleton: middleware for logging and faults, plus shared control routes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson
from aiohttp import web

from sandboxes.kit.faults import Faults
from sandboxes.kit.requestlog import RequestLog

CONTROL_PREFIX = "/_sandbox/"
ResetHook = Callable[[], None]
FaultResponder = Callable[[int, Faults], web.Response]


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=orjson.dumps(data), status=status, content_type="application/json", headers=headers
    )


def _default_fault_response(status: int, faults: Faults) -> web.Response:
    headers = {"Retry-After": str(faults.retry_after_s)} if status in (429, 503) else None
    return json_response({"error": "injected fault", "status": status}, status=status, headers=headers)


class SandboxKit:
    """State shared by the middleware and the control routes of one sandbox app."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.faults = Faults()
        self.log = RequestLog()
        self.reset_hooks: list[ResetHook] = []
        # Vendors answer faults in their own error shape; a sandbox may override this.
        self.fault_response: FaultResponder = _default_fault_response

    def reset(self) -> None:
        self.faults = Faults()
        self.log.clear()
        for hook in self.reset_hooks:
            hook()


KIT_KEY: web.AppKey[SandboxKit] = web.AppKey("sandbox_kit", SandboxKit)


def _middleware(kit: SandboxKit) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def handle(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path.startswith(CONTROL_PREFIX):
            return await handler(request)
        arrived = time.time()
        body = await request.read()
        faults = kit.faults
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        fate = faults.roll()
        injected = fate is not None
        if fate == "timeout":
            await asyncio.sleep(faults.hang_s)
            response: web.StreamResponse = _default_fault_response(504, faults)
        elif fate == "reset":
            if request.transport is not None:
                request.transport.close()
            kit.log.add(
                method=request.method,
                path=request.path,
                query=request.query_string,
                request_headers=dict(request.headers),
                request_body=body,
                status=0,
                response_headers={},
                response_body=b"",
                injected=True,
                at=arrived,
            )
            raise ConnectionResetError("sandbox injected connection reset")
        elif isinstance(fate, int):
            response = kit.fault_response(fate, faults)
        else:
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                response = exc
        response_body = (
            response.body if isinstance(response, web.Response) and isinstance(response.body, bytes) else b""
        )
        kit.log.add(
            method=request.method,
            path=request.path,
            query=request.query_string,
            request_headers=dict(request.headers),
            request_body=body,
            status=response.status,
            response_headers=dict(response.headers),
            response_body=response_body,
            injected=injected,
            at=arrived,
        )
        if isinstance(response, web.HTTPException):
            raise response
        return response

    return handle


async def _get_requests(request: web.Request) -> web.Response:
    kit = request.app[KIT_KEY]
    since = int(request.query.get("since", "0"))
    return json_response(
        {"last_seq": kit.log.last_seq, "requests": [e.as_dict() for e in kit.log.entries(since)]}
    )


async def _put_faults(request: web.Request) -> web.Response:
    kit = request.app[KIT_KEY]
    try:
        kit.faults.update(orjson.loads(await request.read() or b"{}"))
    except (ValueError, TypeError) as exc:
        return json_response({"error": str(exc)}, status=400)
    return json_response(kit.faults.as_dict())


async def _post_reset(request: web.Request) -> web.Response:
    request.app[KIT_KEY].reset()
    return json_response({"reset": True})


def make_app(kind: str) -> tuple[web.Application, SandboxKit]:
    """A new app with the shared middleware and control routes; add vendor routes to it."""
    kit = SandboxKit(kind)
    app = web.Application(middlewares=[_middleware(kit)], client_max_size=32 * 1024 * 1024)
    app[KIT_KEY] = kit
    app.router.add_get("/_sandbox/requests", _get_requests)
    app.router.add_put("/_sandbox/faults", _put_faults)
    app.router.add_post("/_sandbox/reset", _post_reset)
    return app, kit


def serve(app: web.Application, port: int, host: str = "127.0.0.1", also: Sequence[str] = ()) -> None:
    """Run one sandbox standalone (``ffn-sync sandbox KIND --port N``); loopback only. ``also``: more
    addresses to answer on, at the same port (a fleet's shops each on a host of their own)."""
    web.run_app(app, host=[host, *also] if also else host, port=port, print=None)
