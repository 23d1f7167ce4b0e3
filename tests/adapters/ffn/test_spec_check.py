"""The spec check itself refuses traffic outside the spec (so passing contract tests mean something)."""

from __future__ import annotations

import orjson
import pytest

from sandboxes.kit import LoggedExchange
from tests.adapters.ffn.spec import validate_exchanges


def _exchange(**overrides: object) -> LoggedExchange:
    fields: dict[str, object] = {
        "seq": 1,
        "method": "POST",
        "path": "/api/v1/merchant/outbounds",
        "query": "",
        "request_headers": {"Content-Type": "application/json"},
        "request_body": b"{}",
        "status": 400,
        "response_headers": {"Content-Type": "application/json"},
        "response_body": orjson.dumps({"errorCode": {"code": "X"}, "errorMessages": [], "errorMetaData": {}}),
        "injected": False,
    }
    fields.update(overrides)
    return LoggedExchange(**fields)  # type: ignore[arg-type]


def test_request_missing_required_fields_is_refused() -> None:
    with pytest.raises(AssertionError, match="request"):
        validate_exchanges([_exchange()])


def test_error_body_with_the_examples_spelling_only_is_refused() -> None:
    body = orjson.dumps(
        {
            "merchantOutboundNumber": "1",
            "warehouseId": "FULF04XX-12345-0001",
            "currency": "EUR",
            "shippingAddress": {"street": "s", "city": "c", "country": "DE"},
            "items": [{"outboundItemId": "1", "quantity": 1}],
        }
    )
    bad = orjson.dumps({"errorCode": {"code": "X"}, "errorMessages": [], "errorMetadata": {}})
    assert validate_exchanges([_exchange(request_body=body)]) == 1
    with pytest.raises(AssertionError, match="errorMetaData"):
        validate_exchanges([_exchange(request_body=body, response_body=bad)])


def test_undocumented_status_is_refused_unless_injected() -> None:
    get = {"method": "GET", "path": "/api/v1/merchant/warehouses", "request_body": b"", "status": 429}
    assert validate_exchanges([_exchange(**get, injected=True)]) == 1
    with pytest.raises(AssertionError, match="undocumented"):
        validate_exchanges([_exchange(**get)])
