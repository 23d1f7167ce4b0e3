"""The HTTP core shared by every upstream client (shops and the fulfiller)."""

from daemon.http.auth import Auth, StaticAuth
from daemon.http.client import HttpClient
from daemon.http.errors import ErrorFactory, default_error_factory, parse_retry_after
from daemon.http.paging import PagingLoopError, follow_pages
from daemon.http.ratelimit import NoLimit, PauseGate, RateLimiter, TokenBucket
from daemon.http.redaction import safe_headers, safe_url, scrub
from daemon.http.response import Response
from daemon.http.stats import CallRecord, HttpStats
from daemon.http.urls import build_url, encode_query

__all__ = [
    "Auth",
    "CallRecord",
    "ErrorFactory",
    "HttpClient",
    "HttpStats",
    "NoLimit",
    "PagingLoopError",
    "PauseGate",
    "RateLimiter",
    "Response",
    "StaticAuth",
    "TokenBucket",
    "build_url",
    "default_error_factory",
    "encode_query",
    "follow_pages",
    "parse_retry_after",
    "safe_headers",
    "safe_url",
    "scrub",
]
