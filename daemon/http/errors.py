"""Mapping an unwanted HTTP status to a typed error; ``Retry-After`` parsing."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime

from daemon.errors import (
    AuthError,
    RateLimited,
    RecordError,
    RetryableError,
    SyncError,
)
from daemon.http.redaction import body_snippet

# (upstream, status, body, headers) -> the error to raise
ErrorFactory = Callable[[str, int, bytes, Mapping[str, str]], SyncError]


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta seconds or an HTTP-date); None if absent/bad."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive lookup that also works on plain dicts."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, candidate in headers.items():
        if key.lower() == lowered:
            return candidate
    return None


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Delta-seconds ``Retry-After`` only; the client resolves HTTP-dates against its clock."""
    value = header(headers, "Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        return None


def default_error_factory(upstream: str, status: int, body: bytes, headers: Mapping[str, str]) -> SyncError:
    """Status-only mapping; adapters wrap or replace it to pull out the vendor's error code."""
    message = f"HTTP {status}: {body_snippet(body)}" if body.strip() else f"HTTP {status}"
    if status == 429:
        return RateLimited(
            message, upstream=upstream, status=status, retry_after=retry_after_seconds(headers)
        )
    if status == 408 or status >= 500:
        return RetryableError(
            message, upstream=upstream, status=status, retry_after=retry_after_seconds(headers)
        )
    if status == 401:
        return AuthError(f"credentials rejected: {message}", upstream=upstream, status=status)
    return RecordError(message, upstream=upstream, status=status)
