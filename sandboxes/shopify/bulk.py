"""Bulk query operations: ``bulkOperationRunQuery``, ``bulkOperation(id:)``, ``currentBulkOperation``,
``bulkOperationCancel`` and the result file, as Shopify documents them (shopify.dev "Perform bulk operations
with the GraphQL Admin API"; the 2026-01 schema; what a query may ask for: ``bulk_query.py``).

- ``bulkOperationRunQuery`` answers at once with the operation ``CREATED``; it runs in the background
  (``RUNNING``, ``objectCount`` growing; the sandbox reads the data a page at a time between other
  requests) and is ``COMPLETED`` after ``delay_s`` (knob) or once its data is read, with ``url``,
  ``fileSize``, ``objectCount`` and ``rootObjectCount``. An invalid query is a user error (``INVALID``,
  field ``["query"]``), never an operation.
- Running bulk queries per app and shop: five from 2026-01 (the bulk operations guide and its 2026-01
  changelog; api-notes shopify.md §5.2), one before (``max_running``: None = by the answering version; 1 is
  the stricter reading of the 2026-01 schema text, which still says "one bulk query operation ... at a
  time"). One more is refused: ``LIMIT_REACHED`` ("Bulk operations limit reached. Please try again
  later.") where five may run, ``OPERATION_IN_PROGRESS`` where one may.
- ``bulkOperations(query:)`` lists the app's operations, newest first (``sortKey: CREATED_AT``), filtered
  by ``operation_type``, ``status`` and ``created_at``; ``currentBulkOperation`` (deprecated from 2026-01)
  answers the newest one only.
- A bulk operation draws nothing from the cost bucket: only the mutation (10 points) and each poll
  (1 point) cost what every request costs.
- The result is served at ``url``, which on Shopify is a signed Google Cloud Storage link: the sandbox
  signs and dates it (``url_ttl_s``, seven days by default; then the operation is ``EXPIRED`` and the link
  answers 400 ``ExpiredToken``), and refuses a download that carries the Admin API token (a client must
  never send its token to a storage host).
- Knob ``fail``: the next operations end ``FAILED`` with that ``errorCode`` (``ACCESS_DENIED``,
  ``INTERNAL_SERVER_ERROR``, ``TIMEOUT``); the last two leave the first half of the lines at
  ``partialDataUrl`` (airbyte#62499: such partial data is easy to mistake for a full export).

- ``groupObjects: true``: each order's lines come right after it (``bulk_query``: within the group level by
  level, or depth first with the knob ``grouping="depth"``).

Control: ``GET /_sandbox/bulk`` (knobs and operations), ``PUT /_sandbox/bulk {delay_s, fail, url_ttl_s,
max_running, grouping, ...}``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from aiohttp import web

from daemon.clock import Clock
from sandboxes.kit.kit import json_response
from sandboxes.shopify import bulk_query, search
from sandboxes.shopify.paging import connection
from sandboxes.shopify.views import Info, View, require_gid, stamp
from sandboxes.shopify.world import gid

ERROR_CODES = ("ACCESS_DENIED", "INTERNAL_SERVER_ERROR", "TIMEOUT")
RUNNING = ("CREATED", "RUNNING")
GROUPINGS = ("levels", "depth")
SEVEN_DAYS_S = 7 * 86400.0
RESULT_PATH = "/_bulk/results/{name}"
CONCURRENT_FROM = "2026-01"  # five running bulk queries per app and shop from this version on, one before
CONCURRENT_QUERIES = 5


def running_limit(version: str | None, knob: int | None) -> int:
    if knob is not None:
        return knob
    return CONCURRENT_QUERIES if version is None or version >= CONCURRENT_FROM else 1


@dataclass
class BulkKnobs:
    delay_s: float = 1.0  # from creation to COMPLETED (a quarter of it CREATED, the rest RUNNING)
    fail: str | None = None  # errorCode for operations started from now on
    url_ttl_s: float = SEVEN_DAYS_S
    max_running: int | None = None  # None: by the answering version (CONCURRENT_FROM)
    grouping: str = "levels"  # groupObjects: a group's children level by level ("levels") or depth first


@dataclass
class BulkOperation:
    number: int
    query: str
    created_at: datetime
    delay_s: float
    url_ttl_s: float
    reading: bulk_query.Reading | None = field(default=None, repr=False)
    grouped: bool = False
    grouping: str = "levels"
    lines: list[bytes] = field(default_factory=list, repr=False)
    roots: int = 0
    error_code: str | None = None
    canceled_at: datetime | None = None
    read_at: datetime | None = None  # when the sandbox finished reading the data
    downloads: int = 0
    body: bytes = field(default=b"", repr=False)

    @property
    def id(self) -> str:
        return gid("BulkOperation", self.number)

    @property
    def done_at(self) -> datetime | None:
        """When it completes: ``delay_s`` after its start, and not before its data is read."""
        if self.read_at is None:
            return None
        return max(self.created_at + timedelta(seconds=self.delay_s), self.read_at)

    def finish(self, now: datetime, error_code: str | None) -> None:
        assert self.reading is not None
        self.lines = self.reading.lines(grouped=self.grouped, grouping=self.grouping)
        self.roots = len(self.reading.roots)
        self.body = b"".join(line + b"\n" for line in self.lines)
        self.error_code = error_code or ("INTERNAL_SERVER_ERROR" if self.reading.error else None)
        self.read_at = now
        self.reading = None

    def status(self, now: datetime) -> str:
        if self.canceled_at is not None:
            return "CANCELED"
        if (now - self.created_at).total_seconds() < self.delay_s / 4:
            return "CREATED"
        done_at = self.done_at
        if done_at is None or now < done_at:
            return "RUNNING"
        if (now - done_at).total_seconds() >= self.url_ttl_s:
            return "EXPIRED"
        return "FAILED" if self.error_code else "COMPLETED"

    def partial(self) -> bytes | None:
        if self.error_code in (None, "ACCESS_DENIED"):
            return None
        return b"".join(line + b"\n" for line in self.lines[: len(self.lines) // 2])

    def progress(self, now: datetime) -> int:
        if self.reading is not None:
            return len(self.reading.roots)
        done_at = self.done_at
        assert done_at is not None
        span = (done_at - self.created_at).total_seconds()
        share = 1.0 if span <= 0 else min(1.0, max(0.0, (now - self.created_at).total_seconds() / span))
        return int(len(self.lines) * share)


class BulkOperations:
    """The app's bulk query operations on one shop."""

    def __init__(self, clock: Clock, query_root: Any, knobs: BulkKnobs | None = None) -> None:
        self.clock = clock
        self.query_root = query_root
        self.knobs = knobs or BulkKnobs()
        self.operations: dict[int, BulkOperation] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._key = secrets.token_bytes(32)

    def reset(self) -> None:
        for task in self._tasks:
            task.cancel()
        self.operations.clear()
        self.knobs = BulkKnobs()

    # GraphQL fields ----------------------------------------------------------------------------------------

    def bulkOperationRunQuery(self, info: Info, query: str, groupObjects: bool = False) -> View:
        now = self.clock.now()
        running = [op for op in self.operations.values() if op.status(now) in RUNNING]
        limit = running_limit(info.context.get("version"), self.knobs.max_running)
        if len(running) >= limit:
            if limit == 1:
                return _refused(
                    "OPERATION_IN_PROGRESS",
                    f"A bulk query operation for this app and shop is already in progress: {running[0].id}.",
                )
            return _refused("LIMIT_REACHED", "Bulk operations limit reached. Please try again later.")
        schema = info.schema
        try:
            root, plan = bulk_query.check(schema, query)
        except bulk_query.BulkQueryInvalid as exc:
            return {"bulkOperation": None, "userErrors": [_user_error("INVALID", str(exc), ["query"])]}
        context = {"version": info.context.get("version"), "access_scopes": info.context.get("access_scopes")}
        op = BulkOperation(
            number=len(self.operations) + 1,
            query=query,
            created_at=now,
            delay_s=self.knobs.delay_s,
            url_ttl_s=self.knobs.url_ttl_s,
            reading=bulk_query.Reading(schema, root, plan, self.query_root, context),
            grouped=groupObjects,
            grouping=self.knobs.grouping,
        )
        self.operations[op.number] = op
        task = asyncio.get_running_loop().create_task(self._read(op, self.knobs.fail))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return {"bulkOperation": self._view(op, info), "userErrors": []}

    async def _read(self, op: BulkOperation, fail: str | None) -> None:
        """Reads the operation's data a page at a time, answering other requests in between."""
        reading = op.reading
        assert reading is not None
        while not reading.done and op.canceled_at is None:
            await asyncio.sleep(0)
            reading.step()
        op.finish(self.clock.now(), fail)

    def bulkOperationCancel(self, info: Info, id: str) -> View:
        op = self.operations.get(require_gid(id, "BulkOperation"))
        if op is None:
            return {
                "bulkOperation": None,
                "userErrors": [{"field": ["id"], "message": "Bulk operation does not exist"}],
            }
        status = op.status(self.clock.now())
        if status not in RUNNING:
            return {
                "bulkOperation": self._view(op, info),
                "userErrors": [
                    {
                        "field": None,
                        "message": f"A bulk operation cannot be canceled when it is {status.lower()}",
                    }
                ],
            }
        op.canceled_at = self.clock.now()
        return {"bulkOperation": self._view(op, info), "userErrors": []}

    def bulkOperation(self, info: Info, id: str) -> View | None:
        op = self.operations.get(require_gid(id, "BulkOperation"))
        return self._view(op, info) if op else None

    def bulkOperations(
        self,
        info: Info,
        query: str | None = None,
        reverse: bool = False,
        sortKey: str = "CREATED_AT",
        **page: Any,
    ) -> View:
        now = self.clock.now()
        accessors: search.Accessors = {
            "operation_type": lambda _op: "query",  # the sandbox runs no bulk mutations
            "status": lambda op: op.status(now).lower(),
            "created_at": lambda op: op.created_at,
        }
        flt = search.parse(query, accessors)
        found = [op for op in self.operations.values() if flt.matches(op, accessors)]
        if sortKey == "COMPLETED_AT":
            key: Any = lambda op: (-(op.done_at or now).timestamp(), -op.number)  # noqa: E731
        else:
            key = lambda op: (-op.number,)  # noqa: E731 (created in number order: newest first)
        return connection(found, key=key, view=lambda op: self._view(op, info), reverse=reverse, **page)

    def currentBulkOperation(self, info: Info, type: str = "QUERY") -> View | None:
        if type != "QUERY" or not self.operations:
            return None  # the sandbox runs no bulk mutations
        return self._view(self.operations[max(self.operations)], info)

    def _view(self, op: BulkOperation, info: Info) -> View:
        now = self.clock.now()
        status = op.status(now)
        origin = str(info.context.get("origin") or "http://127.0.0.1")
        finished = status in ("COMPLETED", "FAILED", "EXPIRED")
        has_partial = status in ("FAILED", "EXPIRED") and op.partial() is not None
        return {
            "id": op.id,
            "status": status,
            "errorCode": op.error_code if finished else None,
            "type": "QUERY",
            "query": op.query,
            "createdAt": stamp(op.created_at),
            "completedAt": stamp(op.done_at) if finished else None,
            "objectCount": str(len(op.lines) if finished else op.progress(now)),
            "rootObjectCount": str(op.roots if finished else 0),
            "fileSize": str(len(op.body)) if finished and not op.error_code and op.lines else None,
            "url": self._url(origin, op, "full") if finished and not op.error_code and op.lines else None,
            "partialDataUrl": self._url(origin, op, "partial") if has_partial else None,
        }

    # the result file ---------------------------------------------------------------------------------------

    def _signature(self, name: str, expires: int) -> str:
        return hmac.new(self._key, f"{name}:{expires}".encode(), hashlib.sha256).hexdigest()

    def _url(self, origin: str, op: BulkOperation, part: str) -> str:
        name = f"{op.number}-{part}.jsonl"
        assert op.done_at is not None, "a link only for an operation whose data is read"
        expires = int((op.done_at + timedelta(seconds=op.url_ttl_s)).timestamp())
        return f"{origin}{RESULT_PATH.format(name=name)}?Expires={expires}&Signature={self._signature(name, expires)}"

    async def download(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if "X-Shopify-Access-Token" in request.headers:
            return _storage_error(
                400,
                "InvalidArgument",
                "This is a signed storage URL: send no X-Shopify-Access-Token (or any other credential) here.",
            )
        try:
            expires = int(request.query["Expires"])
            given = request.query["Signature"]
        except (KeyError, ValueError):
            return _storage_error(400, "MissingSecurityHeader", "Expires and Signature are required.")
        if not hmac.compare_digest(given, self._signature(name, expires)):
            return _storage_error(
                403, "SignatureDoesNotMatch", "The request signature we calculated does not match."
            )
        if self.clock.now().timestamp() >= expires:
            return _storage_error(400, "ExpiredToken", "The provided token has expired.")
        number, _, part = name.removesuffix(".jsonl").partition("-")
        op = self.operations.get(int(number))
        body = None if op is None else (op.body if part == "full" else op.partial())
        if op is None or body is None:
            return _storage_error(404, "NoSuchKey", "The specified key does not exist.")
        op.downloads += 1
        return web.Response(body=body, content_type="application/jsonl")

    # control -----------------------------------------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        app.router.add_get(RESULT_PATH, self.download)
        app.router.add_get("/_sandbox/bulk", self._get_control)
        app.router.add_put("/_sandbox/bulk", self._put_control)

    async def _get_control(self, _request: web.Request) -> web.Response:
        now = self.clock.now()
        ops = [
            {
                "id": op.id,
                "status": op.status(now),
                "query": op.query,
                "objectCount": len(op.lines),
                "downloads": op.downloads,
            }
            for op in self.operations.values()
        ]
        return json_response({"knobs": asdict(self.knobs), "operations": ops})

    async def _put_control(self, request: web.Request) -> web.Response:
        try:
            body = orjson.loads(await request.read() or b"{}")
            unknown = set(body) - set(asdict(self.knobs))
            if unknown:
                raise ValueError(f"unknown knobs {sorted(unknown)}; known: {sorted(asdict(self.knobs))}")
            if body.get("fail") not in (None, *ERROR_CODES):
                raise ValueError(f"fail must be null or one of {ERROR_CODES}")
            if body.get("grouping", "levels") not in GROUPINGS:
                raise ValueError(f"grouping must be one of {GROUPINGS}")
            for key, value in body.items():
                setattr(self.knobs, key, value)
        except (ValueError, orjson.JSONDecodeError) as exc:
            return json_response({"error": str(exc)}, status=400)
        return json_response({"knobs": asdict(self.knobs)})


def _user_error(code: str, message: str, field_path: list[str] | None) -> View:
    return {"code": code, "field": field_path, "message": message}


def _refused(code: str, message: str) -> View:
    return {"bulkOperation": None, "userErrors": [_user_error(code, message, None)]}


def _storage_error(status: int, code: str, message: str) -> web.Response:
    body = f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
    return web.Response(status=status, body=body.encode(), content_type="application/xml")


__all__ = ["BulkKnobs", "BulkOperations"]
