"""Validation of logged sandbox traffic against the official Merchant API spec (openapi-core).

The spec is parsed once per test session (~0.5 s); one exchange validates in ~1.5 ms.

Exchanges that are not checked, and why:
- ``/token`` and ``/authorize``: the OAuth server is described only in the spec's prose, not as paths;
- responses of injected faults whose status the operation does not document (429 everywhere, 503 on
  the updates feeds): fault injection is a deliberate addition, answered in the FFN error shape;
- connection resets (status 0): no response exists.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

import orjson
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.responses.exceptions import ResponseNotFound
from werkzeug.datastructures import Headers, ImmutableMultiDict

from sandboxes.kit import LoggedExchange
from tests.spec_files import spec_bytes

SPEC_FILE = "jtl-ffn/JTL_OPENAPI.json.gz"
HOST = "http://ffn.test"


@functools.cache
def spec_dict() -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(spec_bytes(SPEC_FILE))
    return data


@functools.cache
def openapi() -> OpenAPI:
    return OpenAPI.from_dict(spec_dict())


class _Request:
    def __init__(self, entry: LoggedExchange) -> None:
        content_type = _content_type(entry.request_headers) if entry.request_body else None
        self.host_url = HOST
        self.path = entry.path
        self.full_url_pattern = HOST + entry.path
        self.method = entry.method.lower()
        self.body = entry.request_body or None
        self.content_type = content_type or "application/json"
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qsl(entry.query, keep_blank_values=True)),
            header=Headers(entry.request_headers),
            cookie=ImmutableMultiDict(),
            path={},
        )


class _Response:
    def __init__(self, entry: LoggedExchange) -> None:
        self.status_code = entry.status
        self.data = entry.response_body
        self.content_type = _content_type(entry.response_headers) or "application/json"
        self.headers = Headers(entry.response_headers)


def _content_type(headers: dict[str, str]) -> str | None:
    for key, value in headers.items():
        if key.lower() == "content-type":
            return value.split(";")[0].strip()
    return None


def example_of(schema_name: str) -> Any:
    """An instance assembled from the spec's own ``example`` values for a component schema."""
    return _example(spec_dict()["components"]["schemas"][schema_name], depth=0)


def _example(schema: dict[str, Any], depth: int) -> Any:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return _example(spec_dict()["components"]["schemas"][name], depth)
    if "example" in schema:
        return schema["example"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if depth > 4:
            return None
        return {k: _example(v, depth + 1) for k, v in (schema.get("properties") or {}).items()}
    if kind == "array":
        return [] if depth > 4 else [_example(schema.get("items") or {}, depth + 1)]
    return {"string": "string", "integer": 0, "number": 0, "boolean": False}.get(str(kind))


def validate_exchanges(
    entries: Iterable[LoggedExchange], *, allow: Callable[[LoggedExchange], bool] | None = None
) -> int:
    """Validate every ``/api/`` request and response; returns how many were checked.

    ``allow`` marks exchanges a test causes on purpose outside the spec (each call site says why).
    """
    spec = openapi()
    checked = 0
    problems: list[str] = []
    for entry in entries:
        if not entry.path.startswith("/api/") or (allow is not None and allow(entry)):
            continue
        request = _Request(entry)
        try:
            spec.validate_request(request)
        except Exception as exc:
            problems.append(f"request  {entry.method} {entry.path}?{entry.query}: {_why(exc)}")
        if entry.status != 0:
            try:
                spec.validate_response(request, _Response(entry))
            except ResponseNotFound:
                if not entry.injected:
                    problems.append(f"response {entry.status} undocumented for {entry.method} {entry.path}")
            except Exception as exc:
                problems.append(f"response {entry.status} {entry.method} {entry.path}: {_why(exc)}")
        checked += 1
    assert not problems, "traffic outside the FFN spec:\n" + "\n".join(problems[:20])
    return checked


def _why(exc: BaseException) -> str:
    """The schema errors themselves (the offending value is often long and says little)."""
    found: list[str] = []
    seen: BaseException | None = exc
    while seen is not None and len(found) < 8:
        for error in getattr(seen, "schema_errors", ()) or ():
            path = "/".join(str(p) for p in error.absolute_path)
            found.append(f"{path or '<root>'}: {error.message[:200]}")
        seen = seen.__cause__ or seen.__context__
    return "; ".join(found) if found else str(exc)[:600]
