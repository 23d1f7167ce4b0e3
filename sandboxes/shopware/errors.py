"""Error bodies in the Admin API's ``failure`` shape: ``{"errors": [{status, code, title, detail}]}``."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aiohttp import web

from sandboxes.kit import Faults
from sandboxes.kit.kit import json_response


def error_response(
    status: int, code: str, detail: str, *, pointer: str | None = None, headers: dict[str, str] | None = None
) -> web.Response:
    return json_response(
        {"errors": [error_item(status, code, detail, pointer)]}, status=status, headers=headers
    )


def error_item(status: int, code: str, detail: str, pointer: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "status": str(status),
        "code": code,
        "title": HTTPStatus(status).phrase,
        "detail": detail,
    }
    if pointer is not None:
        item["source"] = {"pointer": pointer}
    return item


def fault_response(status: int, faults: Faults) -> web.Response:
    headers = {"Retry-After": str(faults.retry_after_s)} if status in (429, 503) else None
    return error_response(status, "SANDBOX__INJECTED_FAULT", "fault injected by the sandbox", headers=headers)


def unauthorized(detail: str) -> web.Response:
    # league/oauth2-server's "access denied" (error code 9), as Shopware forwards it.
    return error_response(401, "9", detail, headers={"WWW-Authenticate": 'Bearer realm="OAuth"'})
