"""Canonical records ⇄ JSON for the snapshot, and the content hash that drives delta processing."""

from __future__ import annotations

import dataclasses
import hashlib
import types
import typing
from collections.abc import Callable
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
    """A JSON-ready dict (Decimal as string, datetimes as ISO strings).

    orjson serialises the (slotted) dataclasses itself, several times faster than ``asdict``.
    """
    data: dict[str, Any] = orjson.loads(orjson.dumps(record, default=_default))
    return data


def content_hash(payload: dict[str, Any]) -> str:
    stable = {k: v for k, v in payload.items() if k not in VOLATILE_FIELDS}
    return hashlib.sha256(orjson.dumps(stable, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


Decoder = Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


@cache
def _decoder(tp: Any) -> Decoder:
    """A function turning JSON for ``tp`` back into ``tp``, built once per type (this runs per record)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        inner = _decoder(next(a for a in typing.get_args(tp) if a is not type(None)))
        return lambda v: None if v is None else inner(v)
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            item = _decoder(args[0])
            return lambda v: tuple(item(x) for x in v)
        items = [_decoder(a) for a in args]
        return lambda v: tuple(f(x) for f, x in zip(items, v, strict=True))
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return _dataclass_decoder(tp)
    if tp is Decimal:
        return lambda v: Decimal(str(v))
    if tp is datetime:
        return datetime.fromisoformat
    if isinstance(tp, type) and issubclass(tp, Enum):
        return tp
    return _identity


def _dataclass_decoder(cls: type) -> Decoder:
    hints = typing.get_type_hints(cls)
    fields = [(f.name, _decoder(hints[f.name])) for f in dataclasses.fields(cls)]

    def decode(data: dict[str, Any]) -> Any:
        return cls(
            **{name: (None if (v := data[name]) is None else dec(v)) for name, dec in fields if name in data}
        )

    return decode


def from_payload(cls: type[T], data: dict[str, Any]) -> T:
    result: T = _decoder(typing.cast(Any, cls))(data)
    return result
