"""Validates sandbox traffic against the official Shopware Admin API OpenAPI files.

openapi-core handles both files (3.0 for 6.6, 3.1 for 6.7) once its up-front validation of the
spec document itself is skipped (that alone takes ~20 s on these 3.9 MB files; loading without it
takes ~0.1 s and checking one exchange a few ms).

Deliberate deviations, each for a reason the spec itself gives:
- PATCH bodies are checked against the entity schema *without* its top-level ``required`` list:
  the operations say "Partially update", but reuse the full entity schema whose ``required``
  describes a complete row.
- The 6.6 file is OpenAPI 3.0 but its ``EqualsFilter`` uses the 3.1-only ``{"type": "null"}``; in a
  3.0 document that becomes the 3.0 spelling ``{"nullable": true, "enum": [null]}`` on load.
- Error statuses an operation does not declare (e.g. 400 of a state transition, whose text says
  illegal transitions produce an error) are checked against the spec's generic ``failure`` schema.
"""

from __future__ import annotations

import copy
import warnings
from functools import cache
from typing import Any
from urllib.parse import parse_qsl

import orjson
from openapi_core import OpenAPI
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_core.testing import MockRequest, MockResponse
from openapi_core.validation.request.exceptions import InvalidRequestBody, SecurityValidationError
from openapi_schema_validator import OAS30Validator, OAS31Validator

from sandboxes.kit import LoggedExchange
from tests.spec_files import spec_bytes

SPEC_FILES = {"6.6": "shopware6/adminapi-6.6.10.13.json.gz", "6.7": "shopware6/adminapi-6.7.9.1.json.gz"}
# The spec's server is http://localhost:8000/api; exchanges are replayed against it.
HOST = "http://localhost:8000"


class SpecCheck:
    def __init__(self, version: str) -> None:
        from openapi_core import Config

        self.version = version
        self.document: dict[str, Any] = orjson.loads(spec_bytes(SPEC_FILES[version]))
        if self.document["openapi"].startswith("3.0"):
            self.document = _null_type_as_nullable(self.document)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.api = OpenAPI.from_dict(self.document, config=Config(spec_validator_cls=None))
        self._schema_cls = OAS31Validator if self.document["openapi"].startswith("3.1") else OAS30Validator

    def _component_validator(self, name: str, *, partial: bool = False) -> Any:
        components = self.document["components"]
        target = copy.deepcopy(components["schemas"][name])
        if partial:
            target.pop("required", None)
        schema = {**target, "components": components}
        return self._schema_cls(schema, format_checker=self._schema_cls.FORMAT_CHECKER)

    def _schema_problems(self, name: str, value: Any, *, partial: bool = False) -> list[str]:
        validator = self._component_validator(name, partial=partial)
        return [f"{name}: {e.json_path}: {e.message}" for e in validator.iter_errors(value)]

    def _patch_schema(self, path: str) -> str | None:
        operation = self.document["paths"].get(_spec_path(path), {}).get("patch", {})
        ref = (
            operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
        )
        reference = ref.get("$ref", "")
        return reference.rsplit("/", 1)[-1] if reference else None

    def problems(self, exchange: LoggedExchange) -> list[str]:
        if exchange.path.startswith("/_sandbox/") or exchange.status == 0:
            return []
        where = f"{exchange.method} {exchange.path}?{exchange.query} -> {exchange.status}"
        request = MockRequest(
            HOST,
            exchange.method.lower(),
            exchange.path,
            args=dict(parse_qsl(exchange.query, keep_blank_values=True)),
            headers=exchange.request_headers,
            data=exchange.request_body or None,
            content_type=exchange.request_headers.get("Content-Type", "application/json"),
        )
        found: list[str] = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                self.api.validate_request(request)
            except InvalidRequestBody as exc:
                schema = self._patch_schema(exchange.path) if exchange.method == "PATCH" else None
                if schema is None:
                    found.append(f"request {where}: {exc} {exc.__cause__!r}")
                else:
                    found += [
                        f"request {where}: {p}"
                        for p in self._schema_problems(schema, exchange.request_json(), partial=True)
                    ]
            except SecurityValidationError:
                pass  # openapi-core does not implement the oauth2 scheme; the sandbox checks tokens
            except Exception as exc:
                found.append(f"request {where}: {type(exc).__name__}: {exc} {exc.__cause__!r}")
            response = MockResponse(
                exchange.response_body,
                status_code=exchange.status,
                headers=exchange.response_headers,
                content_type=exchange.response_headers.get("Content-Type", "application/json").split(";")[0],
            )
            try:
                self.api.validate_response(request, response)
            except ResponseNotFound:
                if exchange.status < 400:
                    found.append(f"response {where}: status not declared by the spec")
                else:
                    found += [
                        f"response {where}: {p}"
                        for p in self._schema_problems("failure", exchange.response_json())
                    ]
            except Exception as exc:
                found.append(
                    f"response {where}: {type(exc).__name__}: {str(exc)[:300]} {str(exc.__cause__)[:1500]}"
                )
        return found


def _null_type_as_nullable(node: Any) -> Any:
    if isinstance(node, dict):
        if node == {"type": "null"}:
            return {"nullable": True, "enum": [None]}
        return {k: _null_type_as_nullable(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_null_type_as_nullable(v) for v in node]
    return node


def _spec_path(path: str) -> str:
    """/api/order-delivery/<hex> -> /order-delivery/{id} (only the shapes the connector uses)."""
    parts = path.removeprefix("/api").split("/")
    if len(parts) == 3 and len(parts[2]) == 32:
        parts[2] = "{id}"
    return "/".join(parts)


@cache
def spec_check(version: str) -> SpecCheck:
    """Loaded once per test session and version."""
    return SpecCheck(version)


def assert_traffic_valid(version: str, exchanges: list[LoggedExchange]) -> int:
    check = spec_check(version)
    problems = [p for e in exchanges for p in check.problems(e)]
    assert not problems, "spec violations:\n" + "\n".join(problems[:20])
    return sum(1 for e in exchanges if not e.path.startswith("/_sandbox/"))
