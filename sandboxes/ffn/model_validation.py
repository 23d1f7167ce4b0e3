"""The spec's lengths, patterns, ranges and formats on request bodies, as FFN's model validation
answers them: ``400 Shared_ModelValidation`` with the body the spec's examples show.

The rules below are the spec's own (``JTL_OPENAPI.json``: ``maxLength``/``minLength``/``pattern``/
``format``/``minimum``/``maximum`` of the request schemas); a test re-derives them from the spec file
and fails when they drift.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from typing import Any

from sandboxes.ffn.respond import FfnError

Rule = dict[str, Any]
_ALPHA2 = re.compile(r"^[A-Z]{2}$")
_ALPHA3 = re.compile(r"^[A-Z]{3}$")
_NOTE: Rule = {"maxLength": 4096, "minLength": 0}
_JFSKU: Rule = {"maxLength": 11, "minLength": 11}
_COUNTRY: Rule = {"maxLength": 2, "minLength": 2, "format": "ISO 3166 alpha-2"}
_CURRENCY: Rule = {"maxLength": 3, "minLength": 3, "format": "ISO 4217 alpha"}
_ADDRESS: dict[str, Rule] = {"zip": {"maxLength": 255, "minLength": 1}, "country": _COUNTRY}
_OUTBOUND: dict[str, Rule] = {
    "priority": {"maximum": 5, "minimum": -5},
    "warehouseId": {"maxLength": 255, "minLength": 14},
    "currency": _CURRENCY,
    "internalNote": _NOTE,
    "externalNote": _NOTE,
    "desiredDeliveryDate": {"format": "date-time"},
    "shippingMethodId": {"maxLength": 255, "minLength": 4},
}

# schema -> field -> rule
RULES: dict[str, dict[str, Rule]] = {
    "CreateOutboundRequest": {
        **_OUTBOUND,
        "merchantOutboundNumber": {"maxLength": 255, "minLength": 1, "pattern": "^.*$"},
    },
    "UpdateOutboundRequest": _OUTBOUND,
    "CreateAddressRequest": _ADDRESS,
    "UpdateAddressRequest": _ADDRESS,
    "CreateOutboundItemRequest": {"jfsku": _JFSKU, "note": _NOTE},
    "CreateAttributeRequest": {"value": _NOTE},
    "Attribute": {"key": {"maxLength": 255, "minLength": 0}, "value": _NOTE},
    "CreateProductRequest": {"originCountry": _COUNTRY, "note": _NOTE},
    "UpdateProductRequest": {"originCountry": _COUNTRY, "note": _NOTE},
    "UpdatePriceRequest": {"currency": _CURRENCY},
    "ProductBundle": {name: {"maxLength": 255, "minLength": 0} for name in ("name", "ean", "upc")},
    "CreateBillOfMaterialsComponentRequest": {"jfsku": _JFSKU},
    "BillOfMaterialsComponent": {"jfsku": _JFSKU},
}
# schema -> field -> (nested schema, is a list)
NESTED: dict[str, dict[str, tuple[str, bool]]] = {
    "CreateOutboundRequest": {
        "attributes": ("CreateAttributeRequest", True),
        "shippingAddress": ("CreateAddressRequest", False),
        "senderAddress": ("CreateAddressRequest", False),
        "items": ("CreateOutboundItemRequest", True),
    },
    "UpdateOutboundRequest": {
        "attributes": ("Attribute", True),
        "shippingAddress": ("UpdateAddressRequest", False),
        "senderAddress": ("UpdateAddressRequest", False),
        "items": ("CreateOutboundItemRequest", True),
    },
    "CreateProductRequest": {
        "attributes": ("CreateAttributeRequest", True),
        "specifications": ("CreateSpecificationsRequest", False),
    },
    "UpdateProductRequest": {
        "attributes": ("Attribute", True),
        "netRetailPrice": ("UpdatePriceRequest", False),
        "bundles": ("ProductBundle", True),
        "specifications": ("UpdateSpecificationsRequest", False),
    },
    "CreateSpecificationsRequest": {
        "billOfMaterialsComponents": ("CreateBillOfMaterialsComponentRequest", True)
    },
    "UpdateSpecificationsRequest": {"billOfMaterialsComponents": ("BillOfMaterialsComponent", True)},
}


def _invalid(path: str, problem: str) -> FfnError:
    return FfnError(
        400,
        "Shared_ModelValidation",
        "General validation exception",
        f"Model validation failed: '{path}' {problem}",
        {},
    )


@cache
def _pattern(spec_pattern: str) -> re.Pattern[str]:
    # .NET's '.' stops at a line feed: '^.*$' means one line. Compiled once, not per request.
    return re.compile(spec_pattern.replace(".*", "[^\\n]*"))


def _check(path: str, value: Any, rule: Rule) -> None:
    if value is None:
        return
    if "minimum" in rule or "maximum" in rule:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _invalid(path, "must be a number")
        if not rule.get("minimum", value) <= value <= rule.get("maximum", value):
            raise _invalid(path, f"must be between {rule['minimum']} and {rule['maximum']}")
        return
    if not isinstance(value, str):
        raise _invalid(path, "must be a string")
    # .NET counts string lengths in UTF-16 code units: a character beyond the BMP (an emoji) counts twice.
    length = len(value.encode("utf-16-le")) // 2
    if length > rule.get("maxLength", length):
        raise _invalid(path, f"must be at most {rule['maxLength']} characters long (got {length})")
    if len(value) < rule.get("minLength", 0):
        raise _invalid(path, f"must be at least {rule['minLength']} characters long")
    if "pattern" in rule and not _pattern(rule["pattern"]).fullmatch(value):
        raise _invalid(path, f"must match {rule['pattern']}")
    fmt = rule.get("format")
    if fmt == "ISO 3166 alpha-2" and not _ALPHA2.match(value):
        raise _invalid(path, "must be an ISO 3166 alpha-2 country code")
    if fmt == "ISO 4217 alpha" and not _ALPHA3.match(value):
        raise _invalid(path, "must be an ISO 4217 currency code")
    if fmt == "date-time":
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise _invalid(path, "must be a date-time") from None


def validate(schema: str, body: Any, path: str = "") -> None:
    """Raise ``Shared_ModelValidation`` for the first field of ``body`` that breaks the spec."""
    if not isinstance(body, dict):
        return
    for field, rule in RULES.get(schema, {}).items():
        _check(f"{path}{field}", body.get(field), rule)
    for field, (nested, many) in NESTED.get(schema, {}).items():
        value = body.get(field)
        if many and isinstance(value, list):
            for index, element in enumerate(value):
                validate(nested, element, f"{path}{field}[{index}].")
        elif not many:
            validate(nested, value, f"{path}{field}.")
