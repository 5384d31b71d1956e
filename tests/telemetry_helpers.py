"""Helpers for the telemetry tests: a text-format reader and fake /proc and /var/log trees."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


def parse(text: str) -> tuple[dict[str, str], list[Sample]]:
    """Metric types by name (from # TYPE) and every sample, from Prometheus text format."""
    types: dict[str, str] = {}
    samples: list[Sample] = []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
        elif line and not line.startswith("#"):
            match = _SAMPLE.match(line)
            assert match, f"not a sample line: {line!r}"
            name, labels, value = match.groups()
            samples.append(Sample(name, dict(_LABEL.findall(labels or "")), float(value)))
    return types, samples


def select(samples: list[Sample], name: str, **labels: str) -> list[Sample]:
    wanted = labels.items()
    return [s for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in wanted)]


def one(samples: list[Sample], name: str, **labels: str) -> Sample:
    found = select(samples, name, **labels)
    assert len(found) == 1, f"{name} {labels}: {len(found)} series: {found}"
    return found[0]


def container_id(n: int) -> str:
    return f"{n:064x}"


def pod_uid(n: int) -> str:
    return f"{n:08x}-0000-4000-8000-{n:012x}"


def run_in_container(
    proc: Path, logs: Path, pid: int, namespace: str, pod: str, container: str, n: int
) -> None:
    """Make `pid` a process of `container` in pod `pod`, the way a systemd-cgroup node shows it."""
    uid, cid = pod_uid(n), container_id(n)
    (proc / str(pid)).mkdir(parents=True, exist_ok=True)
    slice_uid = uid.replace("-", "_")
    (proc / str(pid) / "cgroup").write_text(
        "0::/kubepods.slice/kubepods-burstable.slice/"
        f"kubepods-burstable-pod{slice_uid}.slice/cri-containerd-{cid}.scope\n"
    )
    (logs / "containers").mkdir(parents=True, exist_ok=True)
    (logs / "containers" / f"{pod}_{namespace}_{container}-{cid}.log").touch()
    (logs / "pods" / f"{namespace}_{pod}_{uid}" / container).mkdir(parents=True, exist_ok=True)
