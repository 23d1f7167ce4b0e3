"""Shopware's error body (``{"errors": [{status, code, title, detail}]}``) to typed errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from daemon.errors import ChannelFatalError, SyncError
from daemon.http import default_error_factory
from daemon.http.redaction import body_snippet

ILLEGAL_TRANSITION = "SYSTEM__ILLEGAL_STATE_TRANSITION"
MISSING_PRIVILEGE = "FRAMEWORK__MISSING_PRIVILEGE_ERROR"


def first_error(body: bytes) -> Mapping[str, Any]:
    try:
        parsed = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return {}
    errors = parsed.get("errors") if isinstance(parsed, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return errors[0]
    return {}


def shopware_error_factory(upstream: str, status: int, body: bytes, headers: Mapping[str, str]) -> SyncError:
    error = default_error_factory(upstream, status, body, headers)
    first = first_error(body)
    code = first.get("code")
    if code is not None:
        error.vendor_code = str(code)
        detail = first.get("detail") or first.get("title")
        if detail:
            error.message = f"HTTP {status} {code}: {body_snippet(str(detail).encode())}"
            error.args = (error.message,)
    if status == 403 or error.vendor_code == MISSING_PRIVILEGE:
        # The integration lacks an ACL privilege: nothing on this channel works until an admin fixes it.
        return ChannelFatalError(
            f"{error.message} (give the integration the needed permissions)",
            upstream=upstream,
            status=status,
            vendor_code=error.vendor_code,
        )
    return error
