"""Typed errors. Every layer raises one of these; the engine decides by type.

- ``RetryableError``: try again later (429, 5xx, timeouts, 423 creation lock).
- ``RecordError``: permanent for this one record; park it with the reason, continue with the rest.
- ``ChannelFatalError``: nothing on this channel can succeed (bad credentials, revoked consent);
  back the channel off and tell the operator.

Messages must never contain secret values; ``daemon.secrets.redact`` is applied where text
comes from the outside.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class SyncError(Exception):
    def __init__(
        self,
        message: str,
        *,
        upstream: str | None = None,
        status: int | None = None,
        vendor_code: str | None = None,
        details: Mapping[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.upstream = upstream
        self.status = status
        self.vendor_code = vendor_code
        self.details: Mapping[str, Any] = dict(details or {})
        self.retry_after = retry_after

    def __str__(self) -> str:
        parts = [self.message]
        if self.upstream:
            parts.append(f"upstream={self.upstream}")
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.vendor_code:
            parts.append(f"code={self.vendor_code}")
        return " ".join(parts)


class RetryableError(SyncError):
    """Transient: the same request may succeed later."""


class RateLimited(RetryableError):
    """429 or an equivalent vendor throttle signal."""


class RecordError(SyncError):
    """Permanent for this record (validation, unknown SKU, business rule)."""


class ManualActionNeeded(RecordError):
    """The remote side refuses because a human already acted (e.g. fulfiller locked the outbound)."""


class ChannelFatalError(SyncError):
    """Nothing on this channel can succeed until an operator acts."""


class AuthError(ChannelFatalError):
    """Credentials rejected or consent revoked."""


class ConfigError(Exception):
    """Configuration is invalid; the process refuses to start (exit 78)."""
