"""The scheduler Deployment passes only flags `gpuplane admission-check` has (the scheduler's and
the Kueue check's), with values it accepts."""

from __future__ import annotations

import inspect
import re
from typing import Any

import typer

from deploy_helpers import find, manifests
from gpuplane.cli import app
from gpuplane.cli.admission_check import admission_check

OBJECTS = manifests()
POD: dict[str, Any] = find(OBJECTS, "Deployment", "gpuplane-scheduler")["spec"]["template"][
    "spec"
]
(CONTAINER,) = POD["containers"]
CONFIG: dict[str, str] = find(OBJECTS, "ConfigMap", "gpuplane-scheduler")["data"]


def _options() -> set[str]:
    return {
        decl
        for parameter in inspect.signature(admission_check).parameters.values()
        for decl in getattr(parameter.default, "param_decls", ())
        if decl.startswith("--")
    }


def _expanded(arg: str) -> str:
    """An argument as the kubelet passes it: $(VAR) replaced by the variable's value (the
    ConfigMap's for configMapKeyRef, a stand-in for the downward API's)."""
    env = {e["name"]: e for e in CONTAINER["env"]}

    def value(match: re.Match[str]) -> str:
        source = env[match.group(1)].get("valueFrom", {})
        ref = source.get("configMapKeyRef")
        if ref is not None:
            return CONFIG[ref["key"]]
        return f"downward-{source['fieldRef']['fieldPath'].replace('.', '-')}"

    return re.sub(r"\$\(([A-Z_]+)\)", value, arg)


def test_every_flag_in_the_args_is_an_option_of_gpuplane_admission_check() -> None:
    assert CONTAINER["args"][0] == "admission-check"
    options = _options()
    assert "--leader-elect" in options  # the signature was read
    for arg in CONTAINER["args"][1:]:
        assert arg.startswith("--"), arg
        assert arg.partition("=")[0] in options, arg


def test_the_args_parse_as_the_command_line_of_gpuplane_admission_check() -> None:
    # Values of the right type and no value given to a switch: click parses them as it would
    # in the container, without running the scheduler.
    command = typer.main.get_command(app).commands["admission-check"]  # type: ignore[attr-defined]
    args = [_expanded(arg) for arg in CONTAINER["args"][1:]]
    context = command.make_context("admission-check", args)
    params = context.params
    assert params["leader_elect"] is True
    assert params["policy"] == CONFIG["policy"]
    assert params["scheduler_name"] == CONFIG["scheduler-name"]
    assert params["log_level"] == CONFIG["log-level"]
    assert params["metrics_port"] == 10259
    assert params["lease_namespace"] == "downward-metadata-namespace"
    assert params["identity"] == "downward-metadata-name"
