"""The alert rules: valid for promtool, every alert tested firing and not firing, and the
PrometheusRule holding the same groups as the rules file."""

from __future__ import annotations

import subprocess
from typing import Any

import yaml

from prometheus_helpers import DEPLOY, tool

RULES = DEPLOY / "prometheus" / "rules.yaml"
RULES_TEST = DEPLOY / "prometheus" / "rules_test.yaml"
#: The alerts a GPU platform needs (issue 12), by name.
EXPECTED = {
    "GPUMemoryHigh",
    "GPUUtilizationLow",
    "GPUTemperatureHigh",
    "GPUXidCritical",
    "GPUEccUncorrectable",
    "GPURowRemapFailure",
    "GPUUncorrectableRowsRemapped",
    "GPUNotReporting",
    "GPUExporterDown",
    "GPUAllocatedButIdle",
    "GPUPodPendingTooLong",
    "QueueStarvedOfNominalQuota",
}


def alerts() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_promtool_checks_the_rules() -> None:
    result = subprocess.run(
        [tool("promtool"), "check", "rules", str(RULES)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alerts())} rules found" in result.stdout


def test_promtool_unit_tests_pass() -> None:
    result = subprocess.run(
        [tool("promtool"), "test", "rules", str(RULES_TEST)],
        capture_output=True,
        text=True,
        cwd=RULES_TEST.parent,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    tests = yaml.safe_load(RULES_TEST.read_text(encoding="utf-8"))["tests"]
    firing: set[str] = set()
    quiet: set[str] = set()
    for case in tests:
        for check in case["alert_rule_test"]:
            (firing if check["exp_alerts"] else quiet).add(check["alertname"])
    names = {rule["alert"] for rule in alerts()}
    assert names == EXPECTED
    assert firing == names and quiet == names


def test_every_alert_says_what_it_is_and_what_to_do() -> None:
    for rule in alerts():
        annotations = rule["annotations"]
        assert {"summary", "description", "runbook"} <= set(annotations), rule["alert"]
        assert rule["labels"]["severity"] in {"info", "warning", "critical"}


def test_the_prometheusrule_holds_the_same_groups() -> None:
    resource = yaml.safe_load((DEPLOY / "prometheusrule.yaml").read_text(encoding="utf-8"))
    assert resource["apiVersion"] == "monitoring.coreos.com/v1"
    assert resource["kind"] == "PrometheusRule"
    assert resource["spec"] == yaml.safe_load(RULES.read_text(encoding="utf-8"))
