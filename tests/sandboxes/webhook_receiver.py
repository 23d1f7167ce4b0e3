"""A webhook receiver for sandbox tests: records every delivery and answers with a chosen status."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from multidict import CIMultiDict


@dataclass(frozen=True)
class Received:
    path: str
    headers: CIMultiDict[str]
    body: bytes


@dataclass
class Receiver:
    server: TestServer | None = None
    status: int = 200
    received: list[Received] = field(default_factory=list)
    gate: asyncio.Event | None = None  # when set: hold every answer until the event is set

    def url(self, path: str = "/hooks") -> str:
        assert self.server is not None
        return str(self.server.make_url(path))

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(Received(request.path, CIMultiDict(request.headers), await request.read()))
        if self.gate is not None:
            await self.gate.wait()
        return web.Response(status=self.status)

    def topics(self, header: str) -> list[str]:
        return [r.headers.get(header, "") for r in self.received]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    state = Receiver()
    app = web.Application()
    app.router.add_post("/{tail:.*}", state.handle)
    state.server = TestServer(app, host="127.0.0.1")
    await state.server.start_server()
    try:
        yield state
    finally:
        await state.server.close()
