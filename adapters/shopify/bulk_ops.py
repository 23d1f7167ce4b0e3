"""The app's bulk query operations on one shop: start ours, find ours again, wait for it to finish.

Only our own operations are used (told apart by their query, ``bulk_jsonl.query_window``); an operation an
operator started with the same app is neither adopted nor cancelled. How many may run at once depends on the
API version (api-notes shopify.md §5.2, shopify.dev "Perform bulk operations with the GraphQL Admin API"):

- from 2026-01 (the pinned default): up to five bulk queries per app and shop. Ours are tracked by id (the
  ids this process started; after a restart, found once among the app's recent ones, ``bulkOperations``);
  another operation running is no reason to wait: Shopify's ``LIMIT_REACHED`` is (a catch-up tries again,
  a poll reads page by page). The 2026-01 schema's text still says one at a time: ``OPERATION_IN_PROGRESS``
  is handled the same way;
- before 2026-01 (an operator pinned an older ``api_version``): one bulk query at a time, so the newest one
  (``currentBulkOperation``) is either ours for the window, or in the way: a catch-up waits for it up to
  ``wait_foreign_s``, a poll reads page by page.

An operation that is ours and running or completed for the same window start, ending at most an hour earlier,
is reused (e.g. started before a restart, or by a poll that gave up waiting); what it does not cover is read
page by page afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loguru import logger

from adapters.shopify import bulk_jsonl
from adapters.shopify.mapping import parse_time
from adapters.shopify.transport import GraphQLTransport, Operation
from daemon.clock import Clock

_BULK_FIELDS = "id status errorCode objectCount rootObjectCount fileSize url query"
RUN_BULK_QUERY = Operation(
    "RunBulkQuery",
    """mutation RunBulkQuery($query: String!) {
  bulkOperationRunQuery(query: $query, groupObjects: true) {
    bulkOperation { id status query }
    userErrors { code field message }
  }
}""",
    estimate=10,
)
BULK_OPERATION = Operation(
    "BulkOperation",
    f"query BulkOperation($id: ID!) {{ bulkOperation(id: $id) {{ {_BULK_FIELDS} }} }}",
    estimate=1,
)
# Deprecated from 2026-01 in favour of bulkOperations(query:), but still served and the one way that works on
# every supported version to learn what runs after a restart.
CURRENT_BULK_OPERATION = Operation(
    "CurrentBulkOperation",
    f"query CurrentBulkOperation {{ currentBulkOperation(type: QUERY) {{ {_BULK_FIELDS} }} }}",
    estimate=1,
)
# From 2026-01 on (the pinned version's default), the app's operations by filter; ours are told apart by
# their query (bulk_jsonl.query_window): an operator's own operation is neither adopted nor cancelled.
LISTED_OPERATIONS = 10
BULK_OPERATIONS = Operation(
    "BulkOperations",
    f"""query BulkOperations($q: String) {{
  bulkOperations(first: {LISTED_OPERATIONS}, query: $q) {{ nodes {{ {_BULK_FIELDS} }} }}
}}""",
    estimate=2 + LISTED_OPERATIONS,
)
CONCURRENT_FROM = "2026-01"  # five bulk queries per app and shop may run at once; one before
TRACKED_OPERATIONS = 10  # operations of ours remembered by id (a window is retried, windows move on)
RUNNING = frozenset({"CREATED", "RUNNING", "CANCELING"})
BUSY_CODES = frozenset({"OPERATION_IN_PROGRESS", "LIMIT_REACHED"})
REUSE_GAP_S = 3600.0
FIRST_POLL_S = 1.0
MAX_POLL_S = 10.0  # a poll costs 1 point; waiting up to 30 s longer than needed costs more


class BulkUnavailable(Exception):
    """This window cannot be read through a bulk operation now; it is read page by page."""


class BulkBusy(BulkUnavailable):
    """No further bulk query may start now (one at a time per app and shop before 2026-01, five from)."""


def concurrent_bulk_queries(api_version: str) -> bool:
    """Whether Shopify runs several bulk queries of one app and shop at once at ``api_version``."""
    return api_version >= CONCURRENT_FROM


@dataclass(frozen=True, slots=True)
class Finished:
    id: str
    url: str | None  # None: nothing matched
    covers_until: str  # the window end the operation filtered on (Shopify's text)
    reused: bool


class BulkOperations:
    def __init__(self, transport: GraphQLTransport, clock: Clock, *, wait_foreign_s: float = 600.0) -> None:
        self._transport = transport
        self._clock = clock
        self.wait_foreign_s = wait_foreign_s
        self._concurrent = concurrent_bulk_queries(transport.api_version)
        self._ours: dict[str, tuple[str, str]] = {}  # operation id -> the window its query filters on
        self._looked_back = False  # the app's recent operations listed (once per process: a restart)

    async def finished(self, wanted: str, *, wait_for_others: bool, max_wait_s: float) -> Finished:
        """The finished operation of ours for the bulk query ``wanted`` (``bulk_jsonl.order_query``): one
        still running or completed for its window (reused), else a new one; ``BulkUnavailable`` when that
        cannot be had now (``BulkBusy``: no further one may start)."""
        window = bulk_jsonl.query_window(wanted)
        assert window is not None
        if not self._concurrent:
            return await self._one_at_a_time(
                wanted, window, wait_for_others=wait_for_others, max_wait_s=max_wait_s
            )
        found = await self._our_operation(window)
        if found is not None:
            operation, theirs = found
            logger.debug(f"shopify bulk operation {operation['id']} ({operation['status']}) is ours: reused")
            return await self._wait(operation, theirs[1], reused=True, max_wait_s=max_wait_s)
        started = await self._start_when_allowed(wanted, wait_for_others=wait_for_others)
        self._track(str(started["id"]), window)
        return await self._wait(started, window[1], reused=False, max_wait_s=max_wait_s)

    async def _our_operation(self, window: tuple[str, str]) -> tuple[dict[str, Any], tuple[str, str]] | None:
        """An operation of ours whose result serves ``window``, running or completed: by the id this
        process started it under, or (the first time after a start) among the app's recent ones by query."""
        if not self._looked_back:
            self._looked_back = True
            data = await self._transport.query(BULK_OPERATIONS, {"q": "operation_type:query"})
            for operation in reversed((data.get("bulkOperations") or {}).get("nodes") or []):
                theirs = bulk_jsonl.query_window(str(operation.get("query") or ""))
                if theirs is not None and operation.get("status") in RUNNING | {"COMPLETED"}:
                    self._track(str(operation["id"]), theirs)
        for operation_id, theirs in list(self._ours.items()):
            if not _reusable(theirs, window):
                continue
            try:
                status = await self._poll(operation_id)
            except BulkUnavailable:
                status = None
            if status is not None and status["status"] in RUNNING | {"COMPLETED"}:
                return status, theirs
            del self._ours[operation_id]
        return None

    def _track(self, operation_id: str, window: tuple[str, str]) -> None:
        self._ours.pop(operation_id, None)
        self._ours[operation_id] = window
        while len(self._ours) > TRACKED_OPERATIONS:
            del self._ours[next(iter(self._ours))]

    async def _start_when_allowed(self, query: str, *, wait_for_others: bool) -> dict[str, Any]:
        """Start ours; while Shopify says no more may run (LIMIT_REACHED; OPERATION_IN_PROGRESS where it
        still runs one at a time), a catch-up tries again for up to ``wait_foreign_s``, a poll not at all."""
        deadline = self._clock.monotonic() + self.wait_foreign_s
        delay = FIRST_POLL_S
        tries = 0
        while True:
            try:
                return await self._start(query)
            except BulkBusy as exc:
                if not wait_for_others:
                    raise
                if self._clock.monotonic() >= deadline:
                    raise BulkUnavailable(f"{exc}, still after {self.wait_foreign_s:.0f} s") from exc
                tries += 1
                (logger.info if tries == 1 else logger.debug)(
                    f"{exc}; trying again for up to {self.wait_foreign_s:.0f} s"
                )
                await self._clock.sleep(delay)
                delay = min(MAX_POLL_S, delay * 2)

    async def _one_at_a_time(
        self, wanted: str, window: tuple[str, str], *, wait_for_others: bool, max_wait_s: float
    ) -> Finished:
        """Before 2026-01 (an operator pinned an older api_version): one bulk query per app and shop, so
        the newest one (``currentBulkOperation``) is either ours for this window or in the way."""
        current = await self._current()
        if current is not None:
            theirs = bulk_jsonl.query_window(str(current.get("query") or ""))
            if (
                theirs is not None
                and _reusable(theirs, window)
                and current["status"] in RUNNING | {"COMPLETED"}
            ):
                # Started by an earlier run (before a restart, or one that gave up waiting).
                logger.debug(f"shopify bulk operation {current['id']} ({current['status']}) is ours: reused")
                return await self._wait(current, theirs[1], reused=True, max_wait_s=max_wait_s)
            if current["status"] in RUNNING:
                if not wait_for_others:
                    raise BulkBusy(f"bulk operation {current['id']} runs (one bulk query at a time)")
                await self._wait_for_other(current)
        started = await self._start(wanted)
        return await self._wait(started, window[1], reused=False, max_wait_s=max_wait_s)

    async def _current(self) -> dict[str, Any] | None:
        data = await self._transport.query(CURRENT_BULK_OPERATION)
        current = data.get("currentBulkOperation")
        return current if isinstance(current, dict) else None

    async def _start(self, query: str) -> dict[str, Any]:
        data = await self._transport.mutate(RUN_BULK_QUERY, {"query": query})
        payload = data.get("bulkOperationRunQuery") or {}
        errors = payload.get("userErrors") or []
        if errors:
            text = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors)
            busy = any(e.get("code") in BUSY_CODES for e in errors)
            raise (BulkBusy if busy else BulkUnavailable)(f"Shopify refused the bulk query ({text})")
        operation = payload.get("bulkOperation")
        if not isinstance(operation, dict):
            raise BulkUnavailable("Shopify started no bulk operation and gave no reason")
        logger.debug(f"shopify bulk operation {operation['id']} started")
        return operation

    async def _poll(self, operation_id: str) -> dict[str, Any]:
        data = await self._transport.query(BULK_OPERATION, {"id": operation_id})
        found = data.get("bulkOperation")
        if not isinstance(found, dict):
            raise BulkUnavailable(f"bulk operation {operation_id} is gone")
        return found

    async def _wait_for_other(self, other: dict[str, Any]) -> None:
        logger.info(f"shopify bulk operation {other['id']} of another client runs; waiting for it to end")
        deadline = self._clock.monotonic() + self.wait_foreign_s
        delay = FIRST_POLL_S
        status = other
        while status["status"] in RUNNING:
            if self._clock.monotonic() >= deadline:
                raise BulkUnavailable(
                    f"bulk operation {other['id']} of another client still runs after {self.wait_foreign_s:.0f} s"
                )
            await self._clock.sleep(delay)
            delay = min(MAX_POLL_S, delay * 2)
            status = await self._poll(other["id"])

    async def _wait(
        self, operation: dict[str, Any], covers_until: str, *, reused: bool, max_wait_s: float
    ) -> Finished:
        deadline = self._clock.monotonic() + max_wait_s
        delay = FIRST_POLL_S
        status = operation
        while status["status"] in RUNNING or "url" not in status:
            if status["status"] in RUNNING and self._clock.monotonic() >= deadline:
                raise BulkUnavailable(
                    f"bulk operation {operation['id']} still runs after {max_wait_s:.0f} s "
                    "(a later run picks it up)"
                )
            if status["status"] in RUNNING:
                await self._clock.sleep(delay)
                delay = min(MAX_POLL_S, delay * 2)
            status = await self._poll(operation["id"])
        if status["status"] != "COMPLETED":
            code = f" ({status['errorCode']})" if status.get("errorCode") else ""
            raise BulkUnavailable(f"bulk operation {operation['id']} ended {status['status']}{code}")
        logger.debug(
            f"shopify bulk operation {operation['id']} completed: {status.get('objectCount')} objects, "
            f"{status.get('fileSize')} bytes"
        )
        return Finished(str(status["id"]), status.get("url"), covers_until, reused)


def _reusable(theirs: tuple[str, str], wanted: tuple[str, str]) -> bool:
    """An operation of ours for this window: same start, ending at most ``REUSE_GAP_S`` before ours (the rest
    is read page by page; a much older one would leave too much for pages)."""
    if theirs[0] != wanted[0] or theirs[1] > wanted[1]:
        return False
    gap = parse_time(wanted[1], "bulk window end") - parse_time(theirs[1], "bulk window end")
    return gap.total_seconds() <= REUSE_GAP_S
