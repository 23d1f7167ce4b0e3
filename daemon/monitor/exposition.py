"""Plain-number metric values and their Prometheus text, for the tables that hold a fleet's series.

prometheus-client keeps one child object per label set (a counter ~600 B, a 13-bucket histogram ~3.9 KB)
and builds a ``Sample`` with a label dict per line at every scrape. The tables (``daemon.monitor.flows``,
``daemon.monitor.upstreams``) keep their values in ``array('d')`` instead and write the text format
directly. The text is what ``prometheus_client.generate_latest`` writes for the same families (labels
sorted by name, ``floatToGoString`` values); the tables' ``collect()`` yields the same families through
prometheus-client's custom-collector API for everything that reads the registry.
"""

from __future__ import annotations

import math
import threading
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, Self, TypeVar

from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString as _untyped_go_string

# How prometheus-client writes a value (Go's float formatting: +Inf, NaN, exponents from 1e6 on).
go_string: Callable[[float], str] = _untyped_go_string

PREFIX = "ffn_sync_"  # of every metric name
ABSENT = math.nan  # in a value array: no series for that value (yet, or any more)


def number(value: float) -> str:
    """``go_string``, with its common case (no exponent below 1e6, as Python's repr) inline."""
    return repr(float(value)) if -1e6 < value < 1e6 else go_string(value)


def escape(value: str) -> str:
    """A label value as the text format quotes it."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def labels_text(pairs: Sequence[tuple[str, str]]) -> str:
    """``a="x",b="y"``: sorted by label name as prometheus-client writes them."""
    return ",".join(f'{name}="{escape(value)}"' for name, value in sorted(pairs))


def family_header(name: str, kind: str, documentation: str) -> str:
    text = documentation.replace("\\", r"\\").replace("\n", r"\n")
    return f"# HELP {name} {text}\n# TYPE {name} {kind}\n"


@dataclass(frozen=True)
class HistogramSpec:
    """A histogram's buckets; its values live in an array of bucket counts (+Inf last) and then the sum."""

    name: str
    documentation: str
    bounds: tuple[float, ...]
    le: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "le", (*(go_string(b) for b in self.bounds), "+Inf"))

    def new(self) -> array[float]:
        return array("d", bytes(8 * (len(self.bounds) + 2)))

    def observe(self, values: array[float], amount: float) -> None:
        # A bucket counts what is <= its bound, as prometheus-client's Histogram does.
        values[bisect_left(self.bounds, amount)] += 1
        values[-1] += amount

    def cumulative(self, values: Sequence[float]) -> list[tuple[str, float]]:
        running = 0.0
        result = []
        for le, count in zip(self.le, values, strict=False):
            running += count
            result.append((le, running))
        return result

    def lines(self, values: Sequence[float], before_le: str, after_le: str) -> str:
        """The ``_bucket``/``_count``/``_sum`` lines of one label set; ``before_le``/``after_le`` are the
        label texts sorting before and after ``le``, each with its separating comma."""
        out = []
        name = self.name
        running = 0.0
        for le, count in zip(self.le, values, strict=False):
            running += count
            out.append(f'{name}_bucket{{{before_le}le="{le}"{after_le}}} {number(running)}\n')
        plain = f"{before_le}{after_le.removeprefix(',')}".removesuffix(",")
        out.append(f"{name}_count{{{plain}}} {number(running)}\n")
        out.append(f"{name}_sum{{{plain}}} {number(values[-1])}\n")
        return "".join(out)


def split_at_le(pairs: Sequence[tuple[str, str]]) -> tuple[str, str]:
    """(labels before ``le`` + ",", "," + labels after it), as sorted by name; either may be empty."""
    ordered = sorted(pairs)
    before = labels_text([p for p in ordered if p[0] < "le"])
    after = labels_text([p for p in ordered if p[0] > "le"])
    return (f"{before}," if before else ""), (f",{after}" if after else "")


class Copyable(Protocol):
    def copy(self) -> Self: ...


Key = TypeVar("Key", bound=tuple[str, ...])
Values = TypeVar("Values", bound=Copyable)


class MerchantTable(Collector, Generic[Key, Values]):
    """Values by a key whose first element is the merchant, written by the event loop and read by the render
    thread: one lock, held for a few operations by either side (the render thread copies a slot at a time)."""

    def __init__(self, new_values: Callable[[], Values]) -> None:
        self._lock = threading.Lock()
        self._slots: dict[Key, Values] = {}
        self._new_values = new_values

    def _slot(self, key: Key) -> Values:
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = self._new_values()
        return slot

    def forget_merchants(self, merchants: Iterable[str]) -> None:
        gone = set(merchants)
        if not gone:
            return
        with self._lock:
            for key in [k for k in self._slots if k[0] in gone]:
                del self._slots[key]

    def pieces(self) -> Iterator[str]:
        """The table's families in the Prometheus text format, a piece at a time."""
        raise NotImplementedError

    def text(self) -> str:
        return "".join(self.pieces())

    def snapshot(self) -> list[tuple[Key, Values]]:
        with self._lock:
            slots = list(self._slots.items())
        rows = []
        for key, slot in slots:
            with self._lock:
                rows.append((key, slot.copy()))
        return rows


def in_chunks(pieces: Iterable[str], size: int) -> Iterator[bytes]:
    """``pieces`` joined into encoded chunks of about ``size`` bytes (one piece may make a chunk longer)."""
    batch: list[str] = []
    held = 0
    for piece in pieces:
        batch.append(piece)
        held += len(piece)
        if held >= size:
            yield "".join(batch).encode()
            batch.clear()
            held = 0
    if batch:
        yield "".join(batch).encode()
