"""An in-process upstream on 127.0.0.1 whose answers each test scripts, and a loguru capture."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from loguru import logger

from daemon.clock import FakeClock


@dataclass
class Seen:
    method: str
    path: str
    raw_query: str
    headers: dict[str, str]
    body: bytes
    at: float  # clock.monotonic() when the request arrived


Answer = web.StreamResponse | Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Upstream:
    """Answers scripted per path (consumed in order; the last one repeats), requests recorded."""

    clock: FakeClock
    answers: dict[str, deque[Answer]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    url: str = ""

    def script(self, path: str, *answers: Answer) -> None:
        self.answers[path] = deque(answers)

    def requests_to(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(
            Seen(
                method=request.method,
                path=request.path,
                raw_query=request.rel_url.raw_query_string,
                headers=dict(request.headers),
                body=await request.read(),
                at=self.clock.monotonic(),
            )
        )
        queue = self.answers.get(request.path)
        if not queue:
            return web.json_response({"error": "not scripted"}, status=404)
        answer = queue.popleft() if len(queue) > 1 else queue[0]
        if isinstance(answer, web.StreamResponse):
            # A response object can be sent only once; rebuild it for repeats.
            assert isinstance(answer, web.Response)
            return web.Response(body=answer.body, status=answer.status, headers=answer.headers)
        return await answer(request)


class ConcurrentFakeClock(FakeClock):
    """Like FakeClock, but sleepers that start together wake together (as with real time).

    FakeClock advances on every sleep, so the first sleeper would 'use up' a pause before a concurrent
    caller ever saw it; here a sleep only moves time up to its own deadline after others had a turn.
    """

    def __init__(self) -> None:
        super().__init__()
        self.sleeps_by_task: list[tuple[str, float]] = []

    async def sleep(self, seconds: float) -> None:
        task = asyncio.current_task()
        self.sleeps_by_task.append((task.get_name() if task else "?", seconds))
        self.slept.append(seconds)
        deadline = self.monotonic() + max(0.0, seconds)
        for _ in range(20):
            await asyncio.sleep(0)
        if self.monotonic() < deadline:
            self.advance(deadline - self.monotonic())


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def upstream(clock: FakeClock) -> AsyncIterator[Upstream]:
    state = Upstream(clock=clock)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", state.handle)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    state.url = str(server.make_url("/")).rstrip("/")
    try:
        yield state
    finally:
        await server.close()


@pytest.fixture
def captured_logs() -> Iterator[list[str]]:
    lines: list[str] = []
    sink_id = logger.add(
        lambda message: lines.append(str(message).rstrip("\n")), level="DEBUG", format="{level} {message}"
    )
    try:
        yield lines
    finally:
        logger.remove(sink_id)


def json_answer(data: object, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(data, status=status, headers=headers)
