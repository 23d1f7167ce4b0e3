"""The Grafana dashboard and the alert rules use only metric and label names ffn-sync exports."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from daemon.monitor import METRIC_NAMES, SyncMetrics
from tests.ops.promql import names_in

OPS = Path(__file__).resolve().parents[2] / "ops"
DASHBOARD = OPS / "grafana" / "ffn-sync.json"
ALERTS = OPS / "prometheus" / "alerts.yml"


def exported_labels(metrics: SyncMetrics) -> set[str]:
    return metrics.exposed_labels()


def dashboard_expressions(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("expr"), str):
            yield node["expr"]
        for value in node.values():
            yield from dashboard_expressions(value)
    elif isinstance(node, list):
        for item in node:
            yield from dashboard_expressions(item)


def alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERTS.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def check(expr: str, where: str) -> set[str]:
    metrics = SyncMetrics()
    names = names_in(expr)
    assert names.metrics, f"{where}: no ffn-sync metric in {expr!r}"
    assert names.metrics <= metrics.exposed_names(), (
        f"{where}: unknown metric(s) {names.metrics - metrics.exposed_names()}"
    )
    assert names.labels <= exported_labels(metrics), (
        f"{where}: unknown label(s) {names.labels - exported_labels(metrics)}"
    )
    assert not names.unknown_calls, f"{where}: unknown function(s) {names.unknown_calls}"
    return names.metrics


def test_every_dashboard_query_uses_exported_names() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    expressions = list(dashboard_expressions(dashboard["panels"]))
    assert len(expressions) >= 20
    used: set[str] = set()
    for expr in expressions:
        used |= check(expr, "dashboard")
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", variable["query"]["query"])
            assert match, variable["query"]["query"]
            check(match.group(1), f"variable {variable['name']}")
            assert match.group(2) in exported_labels(SyncMetrics())
    # The dashboard shows every documented metric (histograms through their buckets or counts).
    shown = {re.sub(r"_(bucket|count|sum)$", "", name) for name in used}
    missing = {
        name for name in METRIC_NAMES if name not in shown and name != "ffn_sync_health_check_errors_total"
    }
    assert not missing, f"metrics not on the dashboard: {sorted(missing)}"


def test_panels_have_unique_ids_and_fit_the_grid() -> None:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    for p in panels:
        grid = p["gridPos"]
        assert grid["x"] + grid["w"] <= 24, p["title"]


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: rule["alert"])
def test_every_alert_uses_exported_names_and_says_what_to_do(rule: dict[str, Any]) -> None:
    check(rule["expr"], rule["alert"])
    assert rule["labels"]["severity"] in {"warning", "critical"}
    annotations = rule["annotations"]
    assert annotations["summary"] and annotations["description"]
    anchor = annotations["runbook"].split("#", 1)[1]
    runbook = (OPS / "RUNBOOK.md").read_text()
    headings = {
        re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-")
        for h in re.findall(r"^#+ (.+)$", runbook, re.M)
    }
    assert anchor in headings, f"{rule['alert']}: runbook section #{anchor} missing"


def test_the_alerts_asked_for_exist() -> None:
    alerts = {rule["alert"]: rule["expr"] for rule in alert_rules()}
    assert "ffn_sync_flow_stalled" in alerts["FfnSyncFlowStalled"]
    assert "ffn_sync_dead_letters" in alerts["FfnSyncDeadLettersGrowing"]
    assert "histogram_quantile(0.99" in alerts["FfnSyncOrderLatencyHigh"]
    assert 'status="429"' in alerts["FfnSyncRateLimited"]
