"""FFN error bodies -> typed errors (pure)."""

from __future__ import annotations

import orjson
import pytest

from adapters.ffn.errors import ffn_error_factory, parse_error_body
from daemon.errors import AuthError, ManualActionNeeded, RateLimited, RecordError, RetryableError
from tests.adapters.ffn.spec import spec_dict


def _example(path: str, method: str, status: str, name: str) -> bytes:
    content = spec_dict()["paths"][path][method]["responses"][status]["content"]["application/json"]
    return orjson.dumps(content["examples"][name]["value"])


@pytest.mark.parametrize("key", ["errorMetadata", "errorMetaData", "ERRORMETADATA"])
def test_metadata_spelling_does_not_matter(key: str) -> None:
    body = orjson.dumps(
        {"errorCode": {"code": "X_Y"}, "errorMessages": [{"message": "m"}], key: {"OutboundId": "A"}}
    )

    parsed = parse_error_body(body)

    assert parsed.code == "X_Y" and parsed.messages == ("m",) and parsed.meta("outboundid") == "A"


def test_not_canceled_outbound_exists_from_the_spec_example() -> None:
    body = _example("/api/v1/merchant/outbounds", "post", "400", "Outbounds_NotCanceledOutboundExists")

    error = ffn_error_factory("ffn", 400, body, {})

    assert type(error) is RecordError
    assert error.vendor_code == "Outbounds_NotCanceledOutboundExists"
    assert error.details == {"OutboundId": "MERC02AXEV"}


def test_creation_lock_is_retryable() -> None:
    body = _example("/api/v1/merchant/outbounds", "post", "423", "Outbounds_OutboundCreationIsLocked")

    error = ffn_error_factory("ffn", 423, body, {"Retry-After": "2"})

    assert isinstance(error, RetryableError) and error.retry_after == 2.0


@pytest.mark.parametrize(
    ("path", "method", "name"),
    [
        ("/api/v1/merchant/outbounds/{outboundId}", "patch", "Outbounds_OutboundUpdateForbidden"),
        ("/api/v1/merchant/outbounds/{outboundId}/status", "put", "Outbounds_OutboundStatusChangeForbidden"),
    ],
)
def test_fulfiller_works_on_it_needs_a_person(path: str, method: str, name: str) -> None:
    error = ffn_error_factory("ffn", 403, _example(path, method, "403", name), {})

    assert isinstance(error, ManualActionNeeded) and error.vendor_code == name


def test_status_decides_without_a_vendor_body() -> None:
    assert isinstance(ffn_error_factory("ffn", 429, b"", {"Retry-After": "1"}), RateLimited)
    assert isinstance(ffn_error_factory("ffn", 503, b"", {}), RetryableError)
    assert isinstance(ffn_error_factory("ffn", 401, b"", {}), AuthError)
    assert type(ffn_error_factory("ffn", 400, b"<html>", {})) is RecordError


def test_vendor_shaped_503_stays_retryable() -> None:
    body = orjson.dumps(
        {"errorCode": {"code": "Shared_ServiceUnavailable"}, "errorMessages": [], "errorMetaData": {}}
    )
    assert isinstance(ffn_error_factory("ffn", 503, body, {}), RetryableError)
