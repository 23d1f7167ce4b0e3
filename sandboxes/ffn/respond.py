"""FFN-shaped responses: JSON with decimals as numbers, and the spec's ``ErrorResponse``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from aiohttp import web

from sandboxes.ffn.world import Knobs


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def dumps(data: Any) -> bytes:
    return orjson.dumps(data, default=_default)


def ok(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=dumps(data), status=status, content_type="application/json")


def no_content() -> web.Response:
    return web.Response(status=204)


class FfnError(Exception):
    """Raised by handlers; rendered by ``render_error`` in the spec's error shape."""

    def __init__(
        self, status: int, code: str, description: str, message: str, metadata: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.description = description
        self.message = message
        self.metadata = metadata or {}


def error_body(knobs: Knobs, err: FfnError) -> dict[str, Any]:
    # ``description`` is not in the ErrorCode schema but in every example; extra keys are allowed.
    return {
        "errorCode": {"code": err.code, "description": err.description},
        "errorMessages": [{"message": err.message}],
        knobs.error_metadata_key: err.metadata,
    }


def render_error(knobs: Knobs, err: FfnError, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=dumps(error_body(knobs, err)),
        status=err.status,
        content_type="application/json",
        headers=headers,
    )


def validation_error(message: str, field: str) -> FfnError:
    # The spec's example: description "General validation exception", empty errorMetadata.
    return FfnError(
        400,
        "Shared_ModelValidation",
        "General validation exception",
        f"Model validation failed: {message}",
        {},
    )


async def read_json(request: web.Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.read() or b"{}")
    except orjson.JSONDecodeError:
        raise FfnError(
            400, "Shared_InvalidContentType", "The content is invalid", "Body is not JSON", {}
        ) from None
    if not isinstance(body, dict):
        raise validation_error("the body must be a JSON object", "body")
    return body
