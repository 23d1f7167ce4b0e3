"""Reading the daemon's ``/metrics`` page: a histogram's quantile over what was observed between two reads
(as Prometheus' ``histogram_quantile`` over a rate), and a counter's total over every label set."""

from __future__ import annotations

import math
import re

_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][\w:]*)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$", re.M)
_LE = re.compile(r'(?:^|,)le="([^"]+)"')


def buckets(text: str, histogram: str) -> dict[float, float]:
    """Cumulative count per upper bound, summed over every other label."""
    result: dict[float, float] = {}
    for match in _SAMPLE.finditer(text):
        if match["name"] != f"{histogram}_bucket":
            continue
        le = _LE.search(match["labels"] or "")
        if le is not None:
            bound = math.inf if le.group(1) == "+Inf" else float(le.group(1))
            result[bound] = result.get(bound, 0.0) + float(match["value"])
    return result


def total(text: str, name: str) -> float:
    return sum(float(m["value"]) for m in _SAMPLE.finditer(text) if m["name"] == name)


def quantile(q: float, before: dict[float, float], after: dict[float, float]) -> float:
    """The ``q`` quantile of the observations made between two reads, interpolated within its bucket;
    NaN without observations, the largest finite bound when it lies in the +Inf bucket."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    if not counts or counts[-1] <= 0:
        return math.nan
    rank = q * counts[-1]
    lower, below = 0.0, 0.0
    for bound, cumulative in zip(bounds, counts, strict=True):
        if cumulative >= rank:
            if math.isinf(bound):
                return lower
            inside = cumulative - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = bound, cumulative
    return lower
