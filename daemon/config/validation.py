"""pydantic ``ValidationError`` -> ``ConfigProblem`` with TOML-style dotted keys and plain-words messages.

Input values are never copied into messages: the input may be a secret someone pasted inline.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from daemon.config.channels import CHANNEL_KINDS
from daemon.config.problems import ConfigProblem, dotted_key

Loc = tuple[str | int, ...]
_KINDS = ", ".join(CHANNEL_KINDS)
_SHOULD = re.compile(r"^(Input|String|Value|Tuple|List|Dictionary|Number|Decimal|Float|Integer) should ")


def problems_from(error: ValidationError, file: Path, root: type[BaseModel]) -> list[ConfigProblem]:
    problems = []
    for detail in error.errors(include_url=False, include_input=False):
        loc = tuple(detail["loc"])
        key, message = _describe(detail, loc, root)
        problems.append(ConfigProblem(file, key, message))
    return problems


def _describe(detail: ErrorDetails, loc: Loc, root: type[BaseModel]) -> tuple[str, str]:
    kind = detail["type"]
    key = dotted_key(_without_tags(loc))
    if kind == "missing":
        return key, "required"
    if kind == "extra_forbidden":
        return key, _unknown_key(str(loc[-1]), _keys_at(root, loc[:-1]))
    if kind == "union_tag_not_found":
        return f"{key}.kind", f"required: one of {_KINDS}"
    if kind == "union_tag_invalid":
        tag = (detail.get("ctx") or {}).get("tag", "")
        return f"{key}.kind", f"unknown kind {tag!r}: use one of {_KINDS}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return key, "must be a table"
    if kind in ("tuple_type", "list_type"):
        return key, "must be [[channels]] tables" if key == "channels" else "must be an array"
    if kind == "timezone_aware":
        return key, "must be a date-time with a zone, e.g. 2026-01-01T00:00:00Z"
    message = detail["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return key, _SHOULD.sub("must ", message)


def _without_tags(loc: Loc) -> Loc:
    # A tagged union adds the tag ("shopify") after the list index; the TOML has no such level.
    out: list[str | int] = []
    for part in loc:
        if out and isinstance(out[-1], int) and part in CHANNEL_KINDS:
            continue
        out.append(part)
    return tuple(out)


def _unknown_key(name: str, allowed: Sequence[str]) -> str:
    if not allowed:
        return "unknown key"
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.5)
    if close:
        return f"unknown key (did you mean {close[0]!r}?)"
    return f"unknown key (allowed here: {', '.join(allowed)})"


def _keys_at(root: type[BaseModel], loc: Loc) -> list[str]:
    """The field names of the model found at ``loc`` (the raw pydantic location, tags included)."""
    current: Any = root
    for part in loc:
        current = _step(_unwrap(current), part)
        if current is None:
            return []
    model = _unwrap(current)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _step(annotation: Any, part: str | int) -> Any:
    origin = get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(str(part))
        return field.annotation if field else None
    if origin in (tuple, list) and isinstance(part, int):
        return get_args(annotation)[0]
    if origin is dict:
        return get_args(annotation)[1]
    if origin in (Union, types.UnionType):
        for member in get_args(annotation):
            kind = getattr(member, "model_fields", {}).get("kind")
            if (
                kind is not None
                and get_origin(kind.annotation) is Literal
                and part in get_args(kind.annotation)
            ):
                return member
    return None
