"""Which container a GPU process runs in: its cgroup, then the kubelet's log layout.

A containerised process's /proc/<pid>/cgroup names its pod's UID and its container ID, in
every layout the kubelet uses (cgroupfs "kubepods/burstable/pod<uid>/<id>", systemd
"kubepods-burstable-pod<uid with _>.slice/cri-containerd-<id>.scope", cgroup v1 and v2).
The kubelet then names each container's log /var/log/containers/<pod>_<namespace>_<container>-
<id>.log, and each pod's directory /var/log/pods/<namespace>_<pod>_<uid>: the container ID
gives pod, namespace and container; the pod UID alone gives pod and namespace. Both roots are
arguments, so tests build the trees in a temporary directory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_POD_UID = re.compile(
    r"pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})"
)
_CONTAINER_ID = re.compile(r"(?<![0-9a-f])([0-9a-f]{64})(?![0-9a-f])")
_CONTAINER_LOG = re.compile(r"^(.+)_(.+)_(.+)-([0-9a-f]{64})\.log$")


@dataclass(frozen=True)
class ContainerRef:
    """Where a process runs; `container` is "" when only the pod is known."""

    namespace: str
    pod: str
    container: str


class ProcessResolver:
    """Maps PIDs to containers; `refresh()` re-reads the log directories (once per scrape)."""

    def __init__(self, proc_root: Path = Path("/proc"), log_root: Path = Path("/var/log")) -> None:
        self._proc = proc_root
        self._logs = log_root
        self._by_container: dict[str, ContainerRef] = {}
        self._by_pod_uid: dict[str, ContainerRef] = {}

    def refresh(self) -> None:
        by_container: dict[str, ContainerRef] = {}
        for entry in _names(self._logs / "containers"):
            match = _CONTAINER_LOG.match(entry)
            if match:
                pod, namespace, container, cid = match.groups()
                by_container[cid] = ContainerRef(namespace, pod, container)
        by_pod: dict[str, ContainerRef] = {}
        for entry in _names(self._logs / "pods"):
            parts = entry.rsplit("_", 2)
            if len(parts) == 3:
                namespace, pod, uid = parts
                by_pod[uid.replace("_", "-")] = ContainerRef(namespace, pod, "")
        self._by_container, self._by_pod_uid = by_container, by_pod

    def resolve(self, pid: int) -> ContainerRef | None:
        """The container `pid` runs in, or None for a process outside any pod."""
        try:
            text = (self._proc / str(pid) / "cgroup").read_text(encoding="utf-8")
        except OSError:
            return None
        for line in text.splitlines():
            path = line.split(":", 2)[-1]
            if "kubepods" not in path:
                continue
            cid = _CONTAINER_ID.search(path)
            if cid and cid.group(1) in self._by_container:
                return self._by_container[cid.group(1)]
            uid = _POD_UID.search(path)
            if uid:
                ref = self._by_pod_uid.get(uid.group(1).replace("_", "-"))
                if ref is not None:
                    return ref
        return None


def _names(directory: Path) -> list[str]:
    try:
        return [p.name for p in directory.iterdir()]
    except OSError:
        return []
