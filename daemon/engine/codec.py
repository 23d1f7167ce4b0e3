"""Canonical records ⇄ JSON for the snapshot, and the content hash that drives delta processing."""

from __future__ import annotations

import dataclasses
import hashlib
import types
import typing
from datetime import datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any, TypeVar

import orjson

T = TypeVar("T")

# Fields that change without the record's content changing (a shop bumping its modified date
# when someone merely opens the order) must not make a record pending again.
VOLATILE_FIELDS = frozenset({"updated_at"})


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def to_payload(record: Any) -> dict[str, Any]:
    """A JSON-ready dict (Decimal as string, datetimes as ISO strings)."""
    data: dict[str, Any] = orjson.loads(orjson.dumps(dataclasses.asdict(record), default=_default))
    return data


def content_hash(payload: dict[str, Any]) -> str:
    stable = {k: v for k, v in payload.items() if k not in VOLATILE_FIELDS}
    return hashlib.sha256(orjson.dumps(stable, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _decode(inner[0], value)
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v) for v in value)
        return tuple(_decode(a, v) for a, v in zip(args, value, strict=True))
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return from_payload(tp, value)
    if tp is Decimal:
        return Decimal(str(value))
    if tp is datetime:
        return datetime.fromisoformat(value)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return tp(value)
    return value


def from_payload(cls: type[T], data: dict[str, Any]) -> T:
    hints = _hints(typing.cast(type, cls))
    fields = dataclasses.fields(typing.cast(Any, cls))
    kwargs = {f.name: _decode(hints[f.name], data[f.name]) for f in fields if f.name in data}
    return cls(**kwargs)
