"""GraphQL over ``daemon.http``: one POST per operation, cost-paced, THROTTLED retried, errors typed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from loguru import logger

from adapters.shopify.throttle import CostBucket
from daemon.clock import SYSTEM_CLOCK, Clock
from daemon.errors import (
    AuthError,
    ChannelFatalError,
    RateLimited,
    RecordError,
    RetryableError,
    SyncError,
)
from daemon.http import HttpClient, StaticAuth, default_error_factory
from daemon.http.redaction import body_snippet
from daemon.secrets import Secret

UPSTREAM = "shopify"
DEFAULT_API_VERSION = "2026-10"  # the config's default too (daemon/config/credentials.py)
MAX_THROTTLED_RETRIES = 8
_RETRYABLE_CODES = {"INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE", "TIMEOUT"}
# Refusals of the client's own fixed documents or variable shapes: no record can fix them, every call of the
# operation fails the same way until the client (or the pinned version) changes.
_REFUSED_DOCUMENT_CODES = {
    "MAX_COST_EXCEEDED",
    "MAX_INPUT_SIZE_EXCEEDED",
    "IDEMPOTENCY_KEY_REQUIRED",
    "INVALID_VARIABLE",
    "undefinedField",
    "argumentNotAccepted",
    "missingRequiredArguments",
}
_REFUSED_SHAPE_MARKERS = (
    "is not defined by type",
    "unknown field",
    "was not provided",
    "@idempotent",
    "is required from API",
)


class CostExceedsBucket(RateLimited):
    """The query asks for more than the whole bucket holds: it can never run; ask for a smaller page."""


@dataclass(frozen=True, slots=True)
class Operation:
    name: str
    text: str
    estimate: int  # requested cost of the default shape; refined from what Shopify reports


def shopify_error_factory(upstream: str, status: int, body: bytes, headers: Mapping[str, str]) -> SyncError:
    """HTTP-level failures. Shopify answers GraphQL problems with 200; these are the rest."""
    snippet = body_snippet(body)
    if status == 401:
        return AuthError(f"Shopify rejected the access token: {snippet}", upstream=upstream, status=status)
    if status == 402:
        return ChannelFatalError(
            f"Shopify shop is frozen (unpaid): {snippet}", upstream=upstream, status=status
        )
    if status == 403:
        return ChannelFatalError(
            f"Shopify refused access; check the app's scopes: {snippet}", upstream=upstream, status=status
        )
    if status == 404:
        return ChannelFatalError(
            f"Shopify shop or API version not found; check base_url and api_version: {snippet}",
            upstream=upstream,
            status=status,
        )
    if status == 423:
        return ChannelFatalError(f"Shopify shop is locked: {snippet}", upstream=upstream, status=status)
    return default_error_factory(upstream, status, body, headers)


class GraphQLTransport:
    def __init__(
        self,
        base_url: str,
        *,
        access_token: Secret,
        api_version: str,
        clock: Clock = SYSTEM_CLOCK,
        session: aiohttp.ClientSession | None = None,
        max_concurrency: int = 4,
        timeout_s: float = 30.0,
    ) -> None:
        self.api_version = api_version
        self.path = f"/admin/api/{api_version}/graphql.json"
        self.clock = clock
        self.bucket = CostBucket(max_concurrency=max_concurrency, clock=clock)
        self.http = HttpClient(
            UPSTREAM,
            base_url,
            auth=StaticAuth(headers={"X-Shopify-Access-Token": access_token}),
            limiter=self.bucket,
            error_factory=shopify_error_factory,
            clock=clock,
            session=session,
            timeout_s=timeout_s,
        )
        self.throttled = 0  # THROTTLED answers seen (the pacing goal is zero)
        self.spent = 0.0  # points Shopify charged (actualQueryCost), for pacing triggered reads
        self._learned: dict[tuple[str, tuple[tuple[str, int], ...]], int] = {}
        self._version_warned = False

    async def aclose(self) -> None:
        await self.http.aclose()

    def _key(self, op: Operation, variables: Mapping[str, Any]) -> tuple[str, tuple[tuple[str, int], ...]]:
        shape = tuple(
            sorted((k, v) for k, v in variables.items() if isinstance(v, int) and not isinstance(v, bool))
        )
        return op.name, shape

    async def query(
        self, op: Operation, variables: Mapping[str, Any] | None = None, *, estimate: int | None = None
    ) -> dict[str, Any]:
        return await self._run(op, dict(variables or {}), idempotent=True, estimate=estimate)

    async def mutate(
        self, op: Operation, variables: Mapping[str, Any] | None = None, *, idempotent: bool = False
    ) -> dict[str, Any]:
        """By default not repeated on an ambiguous failure (timeout, 5xx): the caller re-reads first.
        ``idempotent=True`` only for writes that are safe to repeat (absolute stock levels)."""
        return await self._run(op, dict(variables or {}), idempotent=idempotent, estimate=None)

    async def _run(
        self, op: Operation, variables: dict[str, Any], *, idempotent: bool, estimate: int | None
    ) -> dict[str, Any]:
        key = self._key(op, variables)
        for _ in range(MAX_THROTTLED_RETRIES + 1):
            cost = self._learned.get(key, estimate if estimate is not None else op.estimate)
            response = await self.http.request(
                "POST",
                self.path,
                json={"query": op.text, "variables": variables},
                idempotent=idempotent,
                cost=cost,
            )
            self._check_version(response.headers.get("X-Shopify-API-Version"))
            payload = response.json()
            if not isinstance(payload, dict):
                raise RetryableError(
                    f"Shopify {op.name}: unexpected answer {body_snippet(response.body)}", upstream=UPSTREAM
                )
            report = (payload.get("extensions") or {}).get("cost") or {}
            if isinstance(report.get("requestedQueryCost"), int | float):
                self._learned[key] = int(report["requestedQueryCost"])
            if isinstance(report.get("actualQueryCost"), int | float):
                self.spent += float(report["actualQueryCost"])
            errors = payload.get("errors") or []
            if any(_code(e) == "THROTTLED" for e in errors):
                maximum = (report.get("throttleStatus") or {}).get("maximumAvailable")
                requested = report.get("requestedQueryCost")
                if (
                    isinstance(maximum, int | float)
                    and isinstance(requested, int | float)
                    and requested > maximum
                ):
                    raise CostExceedsBucket(
                        f"Shopify {op.name} asks {requested} points; the bucket holds {maximum}",
                        upstream=UPSTREAM,
                    )
                # Nothing ran; the bucket now knows the level, so the next acquire waits for the restore.
                self.throttled += 1
                logger.warning(
                    f"shopify throttled op={op.name} requested={report.get('requestedQueryCost')} "
                    f"available={(report.get('throttleStatus') or {}).get('currentlyAvailable')}; waiting"
                )
                continue
            if errors:
                raise self._graphql_error(op, errors, payload.get("data"))
            data = payload.get("data")
            if not isinstance(data, dict):
                raise RetryableError(f"Shopify {op.name}: answer without data", upstream=UPSTREAM)
            return data
        raise RateLimited(
            f"Shopify kept throttling {op.name} after {MAX_THROTTLED_RETRIES} waits", upstream=UPSTREAM
        )

    def _graphql_error(self, op: Operation, errors: list[Any], data: Any) -> SyncError:
        codes = {_code(e) for e in errors} - {None}
        text = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)[:500]
        message = f"Shopify {op.name} failed: {text}"
        code = next(iter(sorted(c for c in codes if c)), None)
        if codes & _RETRYABLE_CODES:
            return RetryableError(message, upstream=UPSTREAM, vendor_code=code)
        if "ACCESS_DENIED" in codes:
            return ChannelFatalError(
                f"{message} (grant the app the missing scope)", upstream=UPSTREAM, vendor_code=code
            )
        texts = [str(e.get("message", "")) if isinstance(e, dict) else str(e) for e in errors]
        bad_input = any(t.startswith(("Variable $", "Variable '$")) for t in texts)
        refused_shape = any(marker in t for t in texts for marker in _REFUSED_SHAPE_MARKERS)
        if codes & _REFUSED_DOCUMENT_CODES or refused_shape or (data is None and not codes and not bad_input):
            # The client's own document or variable shape is refused: nothing on this channel would work.
            # The flow logs it (one ERROR, then WARNINGs while it persists) and stops for this channel.
            return ChannelFatalError(
                f"Shopify refused the {op.name} document at API version {self.api_version}: {text}; "
                "ffn-sync must be updated for this version (or pin a version it supports)",
                upstream=UPSTREAM,
                vendor_code=code,
            )
        return RecordError(message, upstream=UPSTREAM, vendor_code=code, details={"errors": errors})

    def _check_version(self, answered: str | None) -> None:
        if answered and answered != self.api_version and not self._version_warned:
            self._version_warned = True
            logger.warning(
                f"shopify answered with API version {answered} instead of the configured {self.api_version}; "
                "pin a supported version"
            )


def _code(error: Any) -> str | None:
    if not isinstance(error, dict):
        return None
    code = (error.get("extensions") or {}).get("code")
    return code if isinstance(code, str) else None


def raise_user_errors(errors: Any, what: str) -> None:
    if not errors:
        return
    parts = []
    for error in errors:
        field = ".".join(str(f) for f in error.get("field") or [])
        parts.append(f"{field}: {error.get('message')}" if field else str(error.get("message")))
    first = errors[0]
    raise RecordError(
        f"{what} refused by Shopify: {'; '.join(parts)}",
        upstream="shopify",
        vendor_code=first.get("code"),
        details={"user_errors": errors},
    )
