"""A small client for the sandboxes' ``/_sandbox/`` control API (DESIGN.md, "control API")."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import aiohttp
import orjson

from sandboxes.world.errors import WorldError

_TIMEOUT = aiohttp.ClientTimeout(total=120)


class Control:
    """The control API of one sandbox; every unexpected answer becomes a ``WorldError`` naming the call."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, kind: str) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.kind = kind

    async def call(
        self, method: str, path: str, body: Any = None, *, ok: Collection[int] = (200, 201)
    ) -> Any:
        url = f"{self.base_url}/_sandbox/{path.lstrip('/')}"
        data = orjson.dumps(body) if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else None
        try:
            async with self.session.request(
                method, url, data=data, headers=headers, timeout=_TIMEOUT
            ) as response:
                raw = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise WorldError(f"{self.kind} sandbox: {method} {url} failed: {exc!r}") from exc
        if status not in ok:
            text = raw.decode("utf-8", "replace")[:500]
            raise WorldError(f"{self.kind} sandbox: {method} /_sandbox/{path} answered {status}: {text}")
        return orjson.loads(raw) if raw else None

    async def get(self, path: str) -> Any:
        return await self.call("GET", path)

    async def post(self, path: str, body: Any = None) -> Any:
        return await self.call("POST", path, {} if body is None else body)

    async def put(self, path: str, body: Any) -> Any:
        return await self.call("PUT", path, body)

    async def requests(self, since: int = 0) -> tuple[int, list[dict[str, Any]]]:
        """The request log after ``since``: (last sequence number, entries)."""
        answer = await self.get(f"requests?since={since}")
        return int(answer["last_seq"]), list(answer["requests"])
