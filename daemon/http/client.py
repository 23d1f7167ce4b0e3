"""One HTTP client per upstream: session, limiter, retries, typed errors, safe logging."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeGuard, cast

import aiohttp
import orjson
import yarl
from loguru import logger
from tenacity import RetryCallState

from daemon.clock import SYSTEM_CLOCK, Clock
from daemon.errors import ChannelFatalError, RateLimited, RetryableError, SyncError
from daemon.fence import check_fence
from daemon.http import connector as shared_connector
from daemon.http.auth import Auth, RequestSigner
from daemon.http.errors import ErrorFactory, default_error_factory, header, parse_retry_after
from daemon.http.ratelimit import NoLimit, RateLimiter
from daemon.http.redaction import safe_target, safe_url, scrub
from daemon.http.response import Response
from daemon.http.retry import RetryPolicy, failure_of, is_idempotent
from daemon.http.stats import NO_RESPONSE, CallRecord, HttpStats
from daemon.http.urls import build_url, with_query

DEFAULT_OK = (200, 201, 202, 204)
USER_AGENT = "ffn-sync"
# How long an idle connection is kept for the next request. aiohttp's default (15 s) is shorter than every
# polling interval (60 s for most flows), so each poll of an idle fleet opened a new connection: a TCP
# (in production also a TLS) handshake per poll, the largest CPU cost of an empty cycle after the
# request itself. A server that closes earlier is noticed (its FIN) and the connection dropped; a request
# that still meets a just-closed connection is repeated by aiohttp when idempotent, else by our retries.
KEEPALIVE_S = 90.0


class ClientClosed(ChannelFatalError):
    """A request on a closed client: never retried, never sent."""


@dataclass(slots=True)
class _Call:
    """One logical request across its attempts."""

    method: str
    url: str
    params: Mapping[str, Any] | None
    body: bytes | None
    headers: dict[str, str]
    ok: Collection[int]
    cost: float
    base_url: str
    attempts: int = 0
    reauthorized: bool = False
    recorded_attempt: int = 0  # the attempt whose answer was recorded last, and its status
    recorded_status: int = NO_RESPONSE
    _target: str | None = None

    @property
    def target(self) -> str:
        """Path and query, credentials masked: safe to print; worked out only when something prints it."""
        if self._target is None:
            self._target = safe_target(build_url(self.base_url, self.url, self.params))
        return self._target


class HttpClient:
    def __init__(
        self,
        upstream: str,
        base_url: str,
        *,
        auth: Auth | RequestSigner | None = None,
        limiter: RateLimiter | None = None,
        error_factory: ErrorFactory = default_error_factory,
        timeout_s: float = 30.0,
        max_attempts: int = 5,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 30.0,
        clock: Clock = SYSTEM_CLOCK,
        default_headers: Mapping[str, str] | None = None,
        session: aiohttp.ClientSession | None = None,
        max_retry_after_s: float = 120.0,
        rng: random.Random | None = None,
    ) -> None:
        self.upstream = upstream
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.limiter: RateLimiter = limiter if limiter is not None else NoLimit(clock)
        self.error_factory = error_factory
        self.timeout_s = timeout_s
        self.clock = clock
        self.default_headers = {"User-Agent": USER_AGENT, **(default_headers or {})}
        self.stats = HttpStats()
        self._policy = RetryPolicy(
            max_attempts=max_attempts,
            backoff_base_s=backoff_base_s,
            backoff_max_s=backoff_max_s,
            max_retry_after_s=max_retry_after_s,
            rng=rng,
        )
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session = session
        self._owns_session = session is None
        self._connector: aiohttp.TCPConnector | None = None  # the shared one, held while this client is open
        self._closed = False

    def __repr__(self) -> str:
        return f"HttpClient(upstream={self.upstream!r}, base_url={safe_url(self.base_url)!r})"

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:  # closed while this request waited for the limiter or its token
            raise ClientClosed("client closed while the request waited; not sent", upstream=self.upstream)
        if self._session is None or (self._owns_session and self._session.closed):
            # A session of its own (cookies, defaults) over the process's shared connection pool.
            if self._connector is None:
                self._connector = shared_connector.acquire(keepalive_s=KEEPALIVE_S)
            self._session = aiohttp.ClientSession(
                timeout=self._timeout, connector=self._connector, connector_owner=False
            )
            self._owns_session = True
        return self._session

    @property
    def closed(self) -> bool:
        return self._closed

    async def aclose(self) -> None:
        """Close for good: a request still running elsewhere (a retry, a detached lookup) fails instead of
        opening a new session, so nothing of a replaced configuration reaches its upstream any more."""
        self._closed = True
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()
        if self._connector is not None:
            connector, self._connector = self._connector, None
            await shared_connector.release(connector)

    async def get_json(self, url: str, **kw: Any) -> Any:
        return (await self.request("GET", url, **kw)).json()

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        ok: Collection[int] = DEFAULT_OK,
        cost: float = 1.0,
    ) -> Response:
        """Send one request, retrying transient failures when safe; raise a typed error otherwise.

        ``url`` is a path relative to ``base_url`` or an absolute, already encoded URL. ``cost`` is what
        the request takes from the limiter's budget (e.g. a GraphQL query's estimated cost).
        The returned ``Response.url`` has credentials in its query masked.
        """
        method = method.upper()
        merged_headers = {**self.default_headers, **(headers or {})}
        body = data
        if json is not None:
            body = orjson.dumps(json)
            merged_headers.setdefault("Content-Type", "application/json")
        call = _Call(
            method=method,
            url=url,
            params=params,
            body=body,
            headers=merged_headers,
            ok=ok,
            cost=cost,
            base_url=self.base_url,
        )

        return await self._policy.call(
            self._attempt,
            call,
            idempotent=is_idempotent(method, idempotent),
            sleep=self.clock.sleep,
            before_sleep=partial(self._before_retry, call),
        )

    def _before_retry(self, call: _Call) -> Callable[[RetryCallState], Awaitable[None]]:
        async def before_retry(state: RetryCallState) -> None:
            self._log_retry(call, state)

        return before_retry

    async def _attempt(self, call: _Call) -> Response:
        call.attempts += 1
        response = await self._send(call)
        if response.status == 401 and 401 not in call.ok and self.auth is not None and not call.reauthorized:
            # The request was refused, not executed, so repeating it is safe even for POST.
            call.reauthorized = True
            if await self.auth.on_unauthorized():
                logger.info(f"reauthorized upstream={self.upstream} {call.method} {call.target}; repeating")
                response = await self._send(call)
        if response.status in call.ok:
            return response
        raise self._error_for(call, response)

    async def _send(self, call: _Call) -> Response:
        if self._closed:
            raise ClientClosed(
                f"client closed (configuration replaced or shutting down): {call.method} {call.target} not sent",
                upstream=self.upstream,
            )
        headers = dict(call.headers)
        auth_params: dict[str, str] = {}
        url = build_url(self.base_url, call.url, call.params)
        if _signs(self.auth):
            # A fresh signature (and nonce) per attempt: a replayed nonce is refused.
            await self.auth.sign(call.method, url, headers, auth_params)
        elif self.auth is not None:
            await cast(Auth, self.auth).apply(headers, auth_params)
        if auth_params:
            url = with_query(url, auth_params)

        wait_started = self.clock.monotonic()
        await self.limiter.acquire(call.cost)
        self.stats.record_wait(self.clock.monotonic() - wait_started)
        started = self.clock.monotonic()
        try:
            check_fence()  # after the limiter's wait: the lease may have run out meanwhile
            session = self._get_session()
            async with session.request(
                call.method,
                yarl.URL(url, encoded=True),
                data=call.body,
                headers=headers,
                timeout=self._timeout,
            ) as raw:
                body = await raw.read()
                response = Response(raw.status, raw.headers, body, str(raw.url), self.upstream, mask_url=True)
        except TimeoutError:
            self._record(call, NO_RESPONSE, started)
            raise RetryableError(
                f"no answer within {self.timeout_s:g}s: {call.method} {call.target}", upstream=self.upstream
            ) from None
        except aiohttp.InvalidURL as exc:
            self._record(call, NO_RESPONSE, started)
            raise ChannelFatalError(
                f"invalid URL {safe_url(str(exc.url))}: check the configured base URL", upstream=self.upstream
            ) from None
        except aiohttp.ClientError as exc:
            self._record(call, NO_RESPONSE, started)
            raise RetryableError(
                f"connection failed: {call.method} {call.target}: {type(exc).__name__}: {scrub(str(exc))}",
                upstream=self.upstream,
            ) from None
        finally:
            self.limiter.release()
        self.limiter.observe(response)
        self._record(call, response.status, started)
        return response

    def _record(self, call: _Call, status: int, started: float) -> None:
        elapsed = self.clock.monotonic() - started
        # Formatted by loguru, and only when DEBUG is on: below it (the normal case) the masked target is
        # never worked out and the line costs next to nothing per request.
        logger.debug(
            "http upstream={0} {1.method} {1.target} status={2} attempt={1.attempts} elapsed={3:.0f}ms",
            self.upstream,
            call,
            status or "none",
            elapsed * 1000,
        )
        retry_of = call.recorded_status if call.recorded_attempt == call.attempts - 1 > 0 else None
        call.recorded_attempt, call.recorded_status = call.attempts, status
        self.stats.record_call(
            CallRecord(self.upstream, call.method, status, elapsed, call.attempts, retry_of)
        )

    def _error_for(self, call: _Call, response: Response) -> SyncError:
        error = self.error_factory(self.upstream, response.status, response.body, response.headers)
        error.message = scrub(error.message)
        error.args = (error.message,)
        if error.upstream is None:
            error.upstream = self.upstream
        if error.status is None:
            error.status = response.status
        retry_after = parse_retry_after(header(response.headers, "Retry-After"), self.clock.now())
        if retry_after is None and isinstance(error, RateLimited):
            # Throttled without a hint: everyone backs off as long as this caller will.
            retry_after = (
                error.retry_after if error.retry_after is not None else self._policy.backoff(call.attempts)
            )
        if retry_after is not None and isinstance(error, RetryableError):
            if error.retry_after is None:
                error.retry_after = retry_after
            if response.status in (429, 503) or isinstance(error, RateLimited):
                # Everyone calling this upstream backs off, not only the caller that was told.
                self.limiter.pause(retry_after)
        return error

    def _log_retry(self, call: _Call, state: RetryCallState) -> None:
        self.stats.retries += 1
        failure = failure_of(state)
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        if isinstance(failure, SyncError) and failure.status is not None:
            reason = f"status={failure.status}"
        else:
            reason = f"error={scrub(str(failure))[:160]!r}"
        logger.warning(
            f"retry upstream={self.upstream} {call.method} {call.target} {reason} "
            f"attempt={state.attempt_number + 1}/{self._policy.max_attempts} wait={wait:.1f}s"
        )


_SIGNS: dict[type, bool] = {}


def _signs(auth: object) -> TypeGuard[RequestSigner]:
    """``isinstance(auth, RequestSigner)``, once per auth class: a check against a runtime Protocol walks its
    members on every call, and this runs on every request of a fleet."""
    kind = type(auth)
    signs = _SIGNS.get(kind)
    if signs is None:
        signs = _SIGNS[kind] = isinstance(auth, RequestSigner)
    return signs
