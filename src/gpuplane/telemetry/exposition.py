"""Prometheus text exposition (format 0.0.4) of metric families, written as dcgm-exporter does.

prometheus-client appends "_total" to every counter's name; dcgm-exporter's counters
(DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION, …) have none, and dashboards query them by those
names, so the GPU families are written here, with the names exactly as the table gives them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from gpuplane.telemetry.metrics import MetricSpec

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass
class Family:
    """One metric's samples: label sets and values."""

    spec: MetricSpec
    samples: list[tuple[Mapping[str, str], float]] = field(default_factory=list)

    def add(self, labels: Mapping[str, str], value: float) -> None:
        self.samples.append((labels, value))


def render(families: Iterable[Family]) -> str:
    """The text format of every family that has samples, in the given order."""
    out: list[str] = []
    for family in families:
        if not family.samples:
            continue
        name = family.spec.name
        out.append(f"# HELP {name} {_escape_help(family.spec.help)}\n")
        out.append(f"# TYPE {name} {family.spec.type}\n")
        for labels, value in family.samples:
            pairs = ",".join(f'{k}="{_escape_value(v)}"' for k, v in labels.items())
            out.append(f"{name}{{{pairs}}} {format_value(value)}\n")
    return "".join(out)


def format_value(value: float) -> str:
    """Integers without a fraction, as dcgm-exporter writes them; others in Go's spellings."""
    if isinstance(value, int) or (math.isfinite(value) and value == int(value)):
        return str(int(value))
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def _escape_help(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n")


def _escape_value(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
