"""Compare a response's shape with a documentation example: same keys, same JSON types."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"not a JSON value: {value!r}")


def shape_diff(
    example: Any,
    actual: Any,
    *,
    path: str = "$",
    nullable: Collection[str] = (),
    extra: Collection[str] = (),
    any_type: Collection[str] = (),
) -> list[str]:
    """Differences as readable lines; empty when the shapes agree.

    A null in the example allows any value; ``nullable`` paths may be null in ``actual``; ``extra``
    paths are keys ``actual`` may have beyond the example; ``any_type`` paths are not compared.
    Array elements are compared with the example's first element; paths use ``[]`` for them.
    """
    if path in any_type or example is None:
        return []
    if actual is None:
        return [] if path in nullable else [f"{path}: null, example has {json_type(example)}"]
    if json_type(example) != json_type(actual):
        return [f"{path}: {json_type(actual)}, example has {json_type(example)}"]
    options = {"nullable": nullable, "extra": extra, "any_type": any_type}
    diffs: list[str] = []
    if isinstance(example, dict):
        for key in example.keys() - actual.keys():
            diffs.append(f"{path}.{key}: missing")
        for key in actual.keys() - example.keys():
            if f"{path}.{key}" not in extra:
                diffs.append(f"{path}.{key}: not in the example")
        for key in example.keys() & actual.keys():
            diffs += shape_diff(example[key], actual[key], path=f"{path}.{key}", **options)
    elif isinstance(example, list) and example:
        for item in actual:
            diffs += shape_diff(example[0], item, path=f"{path}[]", **options)
    return diffs
