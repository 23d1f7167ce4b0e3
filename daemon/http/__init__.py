"""The HTTP core shared by every upstream client (shops and the fulfiller).

One ``HttpClient`` per upstream (one aiohttp session), sharing one limiter among all its callers::

    limiter = TokenBucket(rate_per_s=2, burst=4, max_concurrency=2, clock=clock)
    client = HttpClient("ffn", base_url, auth=auth, limiter=limiter, error_factory=ffn_errors, clock=clock)
    items = await client.get_json("/v1/merchant/products", params={"offset": 0})
    await client.request("POST", "/v1/merchant/outbounds", json=body)           # not retried
    await client.request("POST", "/v1/merchant/outbounds", json=body, idempotent=True)  # retried

An adapter's error factory usually wraps ``default_error_factory`` and fills ``vendor_code`` (or returns
``RetryableError`` for a vendor's transient code such as a creation lock).
"""

from daemon.http.auth import Auth, RequestSigner, StaticAuth
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
    "RequestSigner",
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
