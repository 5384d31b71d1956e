"""The cluster spec: node pools described in YAML, validated, turned into Nodes.

    name: demo
    nodePools:
      - name: a100
        count: 2
        cpu: "96"
        memory: 1Ti
        gpu: {model: NVIDIA-A100-SXM4-80GB, count: 8}
        labels: {topology.kubernetes.io/zone: zone-a}
        taints: [{key: nvidia.com/gpu, value: present, effect: NoSchedule}]

Field names follow Kubernetes' camelCase. Quantities are Kubernetes quantities. Every GPU
node gets the labels GPU Feature Discovery would give it, so selectors written for real
clusters (nvidia.com/gpu.product, ...) select the same nodes here.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from gpuplane import quantity
from gpuplane.catalog import lookup
from gpuplane.cluster.sharing_spec import SharingSpec, node_sharing
from gpuplane.cluster.spec_base import Model, checked, validate
from gpuplane.errors import ClusterSpecError
from gpuplane.objects.node import Node
from gpuplane.objects.scheduling import Taint, TaintEffect
from gpuplane.sharing import EXCLUSIVE_NODE, gfd_labels


class GpuSpec(Model):
    model: str
    count: int = Field(ge=1, le=64)

    @field_validator("model")
    @classmethod
    def _known(cls, value: str) -> str:
        return checked(lookup, value).product


class TaintSpec(Model):
    key: str = Field(min_length=1)
    value: str = ""
    effect: TaintEffect = TaintEffect.NO_SCHEDULE


class NodePool(Model):
    name: str = Field(min_length=1, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    count: int = Field(ge=0, le=100_000)
    cpu: int = Field(description="allocatable CPU in millicores")
    memory: int = Field(description="allocatable memory in MiB")
    pods: int = Field(default=110, ge=1)
    gpu: GpuSpec | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    taints: list[TaintSpec] = Field(default_factory=list)
    #: How the pool's GPUs are shared; `gpuSharing` sets some GPUs apart by index.
    sharing: SharingSpec | None = None
    gpu_sharing: list[SharingSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _sharing_fits_the_gpu(self) -> NodePool:
        if (self.sharing or self.gpu_sharing) and self.gpu is None:
            raise ValueError("sharing needs a gpu: this pool has no GPUs to share")
        if self.gpu is not None:
            # Raises on a mode the model cannot run (MIG on an L4, a layout that cannot fit).
            node_sharing(self.sharing, self.gpu_sharing, lookup(self.gpu.model), self.gpu.count)
        return self

    @field_validator("cpu", mode="before")
    @classmethod
    def _cpu(cls, value: Any) -> int:
        return checked(lambda v: quantity.millicores(v, round_up=False), value)

    @field_validator("memory", mode="before")
    @classmethod
    def _memory(cls, value: Any) -> int:
        return checked(lambda v: quantity.mebibytes(v, round_up=False), value)


class ClusterSpec(Model):
    name: str = "cluster"
    node_pools: list[NodePool] = Field(min_length=1)

    @field_validator("node_pools")
    @classmethod
    def _unique(cls, pools: list[NodePool]) -> list[NodePool]:
        names = [p.name for p in pools]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"pool names must be unique: {', '.join(dupes)}")
        return pools

    def nodes(self) -> list[Node]:
        """One Node per pool member, named <pool>-<index>, in pool order."""
        out: list[Node] = []
        for pool in self.node_pools:
            model = lookup(pool.gpu.model) if pool.gpu else None
            sharing = (
                node_sharing(pool.sharing, pool.gpu_sharing, model, pool.gpu.count)
                if model and pool.gpu
                else EXCLUSIVE_NODE
            )
            gpu_labels = gfd_labels(model, pool.gpu.count, sharing) if model and pool.gpu else {}
            taints = tuple(Taint(t.key, t.value, t.effect) for t in pool.taints)
            for i in range(pool.count):
                name = f"{pool.name}-{i}"
                labels = {
                    "kubernetes.io/hostname": name,
                    "gpuplane.io/pool": pool.name,
                    **gpu_labels,
                    **pool.labels,
                }
                out.append(
                    Node(
                        name=name,
                        cpu_milli=pool.cpu,
                        memory_mib=pool.memory,
                        pods=pool.pods,
                        gpu_count=pool.gpu.count if pool.gpu else 0,
                        gpu_model=model.product if model else None,
                        gpu_memory_mib=model.memory_mib if model else 0,
                        labels=labels,
                        taints=taints,
                        sharing=sharing,
                    )
                )
        return out


def parse_cluster_spec(body: Any, file: str | None = None) -> ClusterSpec:
    """Validate a loaded YAML body; an error names the file, line and field path."""
    return validate(ClusterSpec, body, file=file, error=ClusterSpecError)
