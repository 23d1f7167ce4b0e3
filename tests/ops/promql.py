"""Just enough PromQL reading to list the metric and label names an expression uses."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

FUNCTIONS = {
    "abs",
    "absent",
    "absent_over_time",
    "avg",
    "avg_over_time",
    "ceil",
    "changes",
    "clamp_max",
    "clamp_min",
    "count",
    "count_over_time",
    "delta",
    "deriv",
    "floor",
    "group",
    "histogram_quantile",
    "idelta",
    "increase",
    "irate",
    "label_replace",
    "label_values",
    "max",
    "max_over_time",
    "min",
    "min_over_time",
    "quantile",
    "rate",
    "resets",
    "round",
    "scalar",
    "sort",
    "sort_desc",
    "stddev",
    "sum",
    "sum_over_time",
    "time",
    "timestamp",
    "topk",
    "bottomk",
    "vector",
}
KEYWORDS = {
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
}

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_GRAFANA_VAR = re.compile(r"\$\{[^}]*\}|\$\w+")
_RANGE = re.compile(r"\[[^\]]*\]")
_MATCHERS = re.compile(r"\{([^}]*)\}")
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
_IDENT = re.compile(r"(?<![\w.:])([A-Za-z_:][\w:]*)(\s*\()?")


@dataclass
class Names:
    metrics: set[str] = field(default_factory=set)
    labels: set[str] = field(default_factory=set)
    unknown_calls: set[str] = field(default_factory=set)


def names_in(expr: str) -> Names:
    found = Names()
    text = _GRAFANA_VAR.sub("x", expr)
    for matchers in _MATCHERS.findall(_STRING.sub('""', text)):
        found.labels |= {m.group(1) for m in re.finditer(r"(\w+)\s*(?:=~|!~|!=|=)", matchers)}
    text = _MATCHERS.sub(" ", _STRING.sub('""', text))
    for _, labels in _GROUPING.findall(text):
        found.labels |= {label.strip() for label in labels.split(",") if label.strip()}
    text = _RANGE.sub(" ", _GROUPING.sub(" ", text))
    for name, call in _IDENT.findall(text):
        if call:
            if name not in FUNCTIONS:
                found.unknown_calls.add(name)
        elif name not in KEYWORDS and not re.fullmatch(r"\d+\w*|[eE]\d+|Inf|NaN|x", name):
            found.metrics.add(name)
    return found
