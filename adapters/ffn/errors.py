"""FFN error bodies -> typed errors. ``errorCode.code`` decides, not the HTTP status (403 means both
"missing scope" and "the fulfiller already works on this outbound")."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from daemon.errors import (
    AuthError,
    ChannelFatalError,
    ManualActionNeeded,
    RateLimited,
    RecordError,
    RetryableError,
    SyncError,
)
from daemon.http import default_error_factory
from daemon.http.errors import retry_after_seconds

CREATION_LOCKED = "Outbounds_OutboundCreationIsLocked"
NOT_CANCELED_OUTBOUND_EXISTS = "Outbounds_NotCanceledOutboundExists"
DUPLICATE_PRODUCT = "Products_DuplicateProduct"
PRODUCT_ALREADY_AUTHORIZED = "Products_ProductAlreadyAuthorized"
OUTBOUND_NOT_FOUND = "Outbounds_OutboundNotFound"
STATUS_CHANGE_FORBIDDEN = "Outbounds_OutboundStatusChangeForbidden"
UPDATE_FORBIDDEN = "Outbounds_OutboundUpdateForbidden"

# The fulfiller already works on the outbound: a person has to decide what happens.
_MANUAL = frozenset({UPDATE_FORBIDDEN, STATUS_CHANGE_FORBIDDEN})
_RETRYABLE = frozenset({CREATION_LOCKED})
# Credentials are fine but the account cannot act: nothing on this channel will work until fixed.
_FATAL_403 = frozenset({"Shared_UserIsNotAFulfiller"})

LOGIN_HINT = "run `ffn-sync ffn-login --config <your config>` to authorize ffn-sync again"


def looks_like_html(body: bytes) -> bool:
    return body.lstrip()[:15].lower().startswith((b"<!doctype", b"<html"))


@dataclass(frozen=True, slots=True)
class FfnErrorBody:
    code: str | None
    messages: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def meta(self, key: str) -> Any:
        """Metadata keys are PascalCase in the spec; look them up case-insensitively anyway."""
        lowered = key.lower()
        return next((v for k, v in self.metadata.items() if k.lower() == lowered), None)


def parse_error_body(body: bytes) -> FfnErrorBody:
    """The spec's ``ErrorResponse``; ``errorMetaData`` (schema) and ``errorMetadata`` (examples) both work."""
    try:
        data = orjson.loads(body) if body.strip() else None
    except orjson.JSONDecodeError:
        return FfnErrorBody(code=None)
    if not isinstance(data, dict):
        return FfnErrorBody(code=None)
    by_lower = {str(k).lower(): v for k, v in data.items()}
    error_code = by_lower.get("errorcode")
    code = error_code.get("code") if isinstance(error_code, dict) else None
    raw_messages = by_lower.get("errormessages")
    messages = tuple(
        str(m.get("message"))
        for m in (raw_messages if isinstance(raw_messages, list) else [])
        if isinstance(m, dict) and m.get("message")
    )
    metadata = by_lower.get("errormetadata")
    return FfnErrorBody(
        code=str(code) if code else None,
        messages=messages,
        metadata=metadata if isinstance(metadata, dict) else {},
    )


# The spec's troubleshooting: an API call refused without an FFN error body is about the account, not
# the record, so the channel stops instead of parking records one by one.
SCOPE_HINT = (
    "FFN answered 403 without an error body: the authorization lacks scopes (the spec's troubleshooting); "
    f"authorize ffn-sync again with ffn.merchant.read and ffn.merchant.write: {LOGIN_HINT}"
)
PORTAL_HINT = (
    "FFN answered 404 without an error body: no FFN user exists for this account yet (the spec's "
    "troubleshooting: the user never logged into the portal of this environment); log in once at "
    "fulfillment.jtl-software.com (production) or fulfillment-sandbox.jtl-software.com (sandbox), "
    "matching ffn.base_url"
)


def ffn_error_factory(upstream: str, status: int, body: bytes, headers: Mapping[str, str]) -> SyncError:
    parsed = parse_error_body(body)
    if parsed.code is None and status == 403 and not looks_like_html(body):
        return ChannelFatalError(SCOPE_HINT, upstream=upstream, status=status)
    if parsed.code is None and status == 404 and not body.strip():
        return ChannelFatalError(PORTAL_HINT, upstream=upstream, status=status)
    if parsed.code is None:
        return default_error_factory(upstream, status, body, headers)
    text = "; ".join(parsed.messages) or parsed.code
    message = f"FFN {parsed.code}: {text}"
    kwargs: dict[str, Any] = {
        "upstream": upstream,
        "status": status,
        "vendor_code": parsed.code,
        "details": dict(parsed.metadata),
    }
    if status == 429:
        return RateLimited(message, retry_after=retry_after_seconds(headers), **kwargs)
    if parsed.code in _RETRYABLE or status == 408 or status >= 500:
        return RetryableError(message, retry_after=retry_after_seconds(headers), **kwargs)
    if parsed.code in _MANUAL:
        return ManualActionNeeded(f"{message} (the fulfiller already works on it)", **kwargs)
    if status == 401 or parsed.code in _FATAL_403:
        return AuthError(message, **kwargs)
    return RecordError(message, **kwargs)
