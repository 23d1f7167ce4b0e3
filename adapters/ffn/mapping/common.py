"""Value conversions shared by the FFN mappings."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any


def num(value: Decimal | int | None) -> int | float | None:
    """A JSON number for FFN's ``decimal`` fields (orjson does not take Decimal)."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    return int(value) if value == value.to_integral_value() else float(value)


def dec(value: Any, default: Decimal = Decimal(0)) -> Decimal:
    if value is None or isinstance(value, bool):
        return default
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return default


def parse_dt(value: Any) -> datetime | None:
    """FFN date-times carry an offset; up to 7 fraction digits (.NET) are cut to Python's 6."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{head}.{rest[: min(digits, 6)]}{rest[digits:]}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def fmt_dt(moment: datetime) -> str:
    """``2020-02-11T16:05:06.834+00:00``: UTC, milliseconds, explicit offset (the '+' is encoded by the
    HTTP core as %2B)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def odata_quote(value: str) -> str:
    """An OData string literal: single quotes around, inner quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def same_value(left: Any, right: Any) -> bool:
    """Equality that treats 5, 5.0 and Decimal('5.00') alike and a missing value like None."""
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    if isinstance(left, int | float | Decimal) and isinstance(right, int | float | Decimal):
        return dec(left) == dec(right)
    return bool(left == right)
