"""The GPU exporter: one backend sample, attributed to pods, as dcgm-exporter's metrics.

Every scrape reads the backend once (`Backend.sample()`), asks the kubelet which containers
hold which GPU (pod-resources List) and, for GPUs held by several containers (time-slicing or
MPS replicas), which container each GPU process runs in (its cgroup). It then writes:

* dcgm-exporter's metrics per GPU and MIG device, with its labels; a device held by exactly
  one container also carries that container's `pod`, `namespace` and `container`, as
  dcgm-exporter's pod mapping does. A shared device's series stay unlabelled, once, so that
  sums over devices count each GPU once;
* gpuplane's per-pod metrics for every container holding a GPU: its utilisation and memory
  (on a shared GPU, its own processes' share from NVML's per-process accounting; on a GPU of
  its own, the device's) and how many devices it holds there.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from gpuplane.node.backend import Backend, DeviceSample, Gpu, MigDevice
from gpuplane.telemetry.exposition import Family, render
from gpuplane.telemetry.metrics import (
    DCGM_METRICS,
    DRIVER_LABEL,
    POD_METRICS,
    XID_MESSAGES,
)
from gpuplane.telemetry.podresources import Holder, PodResources, PodResourcesError
from gpuplane.telemetry.processes import ProcessResolver

log = logging.getLogger("gpuplane.telemetry")


class GpuExporter:
    """Renders the node's GPU metrics on demand (each call is one scrape)."""

    def __init__(
        self,
        backend: Backend,
        *,
        hostname: str,
        pod_resources: PodResources | None = None,
        resolver: ProcessResolver | None = None,
    ) -> None:
        self._backend = backend
        self._hostname = hostname
        self._pod_resources = pod_resources
        self._resolver = resolver if resolver is not None else ProcessResolver()
        #: Scrapes in which the kubelet's pod-resources API did not answer.
        self.attribution_errors = 0

    def render(self) -> str:
        return render(self.families())

    def families(self) -> list[Family]:
        inventory = self._backend.inventory()
        devices = inventory.by_uuid()
        samples = self._backend.sample()
        holders = self._holders()
        if holders:
            self._resolver.refresh()
        dcgm = [Family(spec) for spec in DCGM_METRICS]
        pods = [Family(spec) for spec in POD_METRICS]
        for sample in samples:
            found = devices.get(sample.uuid)
            if found is None:
                continue
            gpu, mig = found
            labels = self._device_labels(gpu, mig)
            on_device = holders.get(sample.uuid, [])
            only = on_device[0] if len(on_device) == 1 and not on_device[0].shared else None
            for family in dcgm:
                value = getattr(sample, family.spec.field)
                if value is None:
                    continue
                series = {**labels, DRIVER_LABEL: inventory.driver_version}
                if family.spec.field == "last_xid":
                    series["err_code"] = str(int(value))
                    series["err_msg"] = XID_MESSAGES.get(int(value), "Unknown Error")
                if only is not None:
                    series.update(_pod_labels(only))
                family.add(series, value)
            if on_device:
                self._pod_series(pods, labels, sample, on_device)
        return dcgm + pods

    def _holders(self) -> dict[str, list[Holder]]:
        if self._pod_resources is None:
            return {}
        try:
            return self._pod_resources.holders()
        except PodResourcesError as exc:
            # Metrics without pods beat no metrics: dcgm-exporter carries on the same way.
            self.attribution_errors += 1
            log.warning("GPU metrics without pod labels this scrape: %s", exc)
            return {}

    def _device_labels(self, gpu: Gpu, mig: MigDevice | None) -> dict[str, str]:
        labels = {
            "gpu": str(gpu.index),
            "UUID": gpu.uuid,
            "pci_bus_id": gpu.pci_bus_id,
            "device": f"nvidia{gpu.index}",
            "modelName": gpu.name,
        }
        if mig is not None:
            labels["GPU_I_PROFILE"] = mig.profile
            labels["GPU_I_ID"] = str(mig.gpu_instance)
        labels["Hostname"] = self._hostname
        return labels

    def _pod_series(
        self,
        families: Sequence[Family],
        labels: Mapping[str, str],
        sample: DeviceSample,
        holders: Sequence[Holder],
    ) -> None:
        util, memory, devices = families
        shared = len(holders) > 1 or any(h.shared for h in holders)
        usage = self._usage_by_holder(sample, holders) if shared else {}
        for holder in holders:
            series = {**labels, **_pod_labels(holder)}
            devices.add(series, len(holder.device_ids))
            if shared:
                used_util, used_memory = usage.get(holder, (None, 0))
                memory.add(series, used_memory)
                if used_util is not None:
                    util.add(series, used_util)
                continue
            if sample.gpu_util is not None:
                util.add(series, sample.gpu_util)
            if sample.fb_used_mib is not None:
                memory.add(series, sample.fb_used_mib)

    def _usage_by_holder(
        self, sample: DeviceSample, holders: Sequence[Holder]
    ) -> dict[Holder, tuple[int | None, int]]:
        """(SM %, MiB) of each holder's processes on a shared device."""
        usage: dict[Holder, tuple[int | None, int]] = {}
        for process in sample.processes:
            ref = self._resolver.resolve(process.pid)
            if ref is None:
                continue
            candidates = [
                h
                for h in holders
                if h.namespace == ref.namespace
                and h.pod == ref.pod
                and (h.container == ref.container or not ref.container)
            ]
            if len(candidates) != 1:
                continue  # a process we cannot pin on one container is nobody's
            holder = candidates[0]
            util, memory = usage.get(holder, (None, 0))
            if process.sm_util is not None:
                util = (util or 0) + process.sm_util
            usage[holder] = (util, memory + process.used_memory_mib)
        # A holder with no process on the device is idle, not unknown.
        return {h: usage.get(h, (0, 0)) for h in holders}


def _pod_labels(holder: Holder) -> dict[str, str]:
    return {"pod": holder.pod, "namespace": holder.namespace, "container": holder.container}
