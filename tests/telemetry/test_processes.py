"""GPU processes to containers: cgroup layouts of cgroup v1 and v2, systemd and cgroupfs."""

from __future__ import annotations

from pathlib import Path

from gpuplane.telemetry import ContainerRef, ProcessResolver

from telemetry_helpers import container_id, pod_uid, run_in_container


def test_systemd_cgroup_v2_by_container_id(tmp_path: Path) -> None:
    proc, logs = tmp_path / "proc", tmp_path / "log"
    run_in_container(proc, logs, 100, "ml", "train-0", "trainer", 1)
    run_in_container(proc, logs, 200, "ml", "train-1", "sidecar", 2)
    resolver = ProcessResolver(proc, logs)
    resolver.refresh()
    assert resolver.resolve(100) == ContainerRef("ml", "train-0", "trainer")
    assert resolver.resolve(200) == ContainerRef("ml", "train-1", "sidecar")
    assert resolver.resolve(300) is None  # gone, or never there


def test_cgroupfs_v1_and_a_pod_known_only_by_its_uid(tmp_path: Path) -> None:
    proc, logs = tmp_path / "proc", tmp_path / "log"
    uid = pod_uid(7)
    (proc / "55").mkdir(parents=True)
    (proc / "55" / "cgroup").write_text(
        "12:memory:/kubepods/besteffort/pod" + uid + "/" + container_id(9) + "\n"
        "11:cpu,cpuacct:/kubepods/besteffort/pod" + uid + "/" + container_id(9) + "\n"
    )
    (logs / "pods" / f"infer_server-abc_{uid}").mkdir(parents=True)
    resolver = ProcessResolver(proc, logs)
    resolver.refresh()
    # The container's log is not there (yet): the pod is known, the container is not.
    assert resolver.resolve(55) == ContainerRef("infer", "server-abc", "")


def test_a_host_process_is_in_no_pod(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    (proc / "1").mkdir(parents=True)
    (proc / "1" / "cgroup").write_text("0::/system.slice/nvidia-persistenced.service\n")
    resolver = ProcessResolver(proc, tmp_path / "log")
    resolver.refresh()
    assert resolver.resolve(1) is None
