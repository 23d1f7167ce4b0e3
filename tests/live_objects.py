"""Counting the project's live objects: a structure that grows per operation shows as a class whose count grows."""

from __future__ import annotations

import gc
from collections import Counter


def own_objects() -> Counter[str]:
    """Live objects of the daemon's and adapters' own classes, by class (sandboxes' are not counted)."""
    gc.collect()
    counts: Counter[str] = Counter()
    for o in gc.get_objects():
        module = type(o).__module__
        if isinstance(module, str) and module.startswith(("daemon.", "adapters.")):
            counts[f"{module}.{type(o).__qualname__}"] += 1
    return counts


def grown(before: Counter[str], after: Counter[str], at_least: int) -> dict[str, int]:
    return {name: count - before[name] for name, count in after.items() if count - before[name] >= at_least}
