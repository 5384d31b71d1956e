"""The Grafana dashboard: well-formed, every panel queried, names that exist.

Whether each PromQL expression evaluates is checked against a real Prometheus in
test_prometheus_live.py; this checks the JSON itself, without one.
"""

from __future__ import annotations

import json
import re

from gpuplane.telemetry import DCGM_METRICS, POD_METRICS

from prometheus_helpers import DEPLOY

DASHBOARD = json.loads((DEPLOY / "grafana" / "dashboard.json").read_text(encoding="utf-8"))
NAME = re.compile(r"\b(DCGM_FI_\w+|gpuplane_pod_\w+)")


def test_panels_have_unique_ids_and_queries() -> None:
    panels = DASHBOARD["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        if panel["type"] == "row":
            continue
        assert panel["targets"] and panel["description"], panel["title"]
        assert all(t["expr"] for t in panel["targets"])


def test_every_metric_it_queries_is_one_the_node_agent_exports() -> None:
    exported = {s.name for s in DCGM_METRICS + POD_METRICS}
    used = {
        name
        for panel in DASHBOARD["panels"]
        for target in panel.get("targets", [])
        for name in NAME.findall(target["expr"])
    }
    assert used and used <= exported, used - exported


def test_it_covers_what_the_issue_asks_for() -> None:
    text = json.dumps(DASHBOARD)
    for needed in (
        "gpuplane_pod_gpu_utilization",  # per-pod use
        "avg by (Hostname)",  # per-node use
        "DCGM_FI_DEV_GPU_TEMP",  # temperatures
        "DCGM_FI_DEV_XID_ERRORS",  # errors
        "kueue_admission_wait_time_seconds_bucket",  # queue waits
        "gpuplane_pod_gpu_devices",  # allocation
    ):
        assert needed in text, needed
