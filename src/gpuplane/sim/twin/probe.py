"""What a comparison needs beyond `Report`, read from a running simulation through its check hook.

`Probe` is passed to `Simulator(check=...)`, which calls it after every event and every
admission cycle. It integrates, as step functions of virtual time (the last call at an instant
holds until the next instant, exactly as `Metrics` integrates):

* allocated milli-GPU per node pool, for GPU-hours and cost per pool (pools differ in price);
* busy milli-GPU: each pod keeps `utilization` x 1000 milli-GPU of compute busy on each of its
  GPUs, capped by its share where the hardware or MPS enforces one (MIG, MPS, vGPU), and every
  GPU is capped at 1000. The simulator does not slow work down on an oversubscribed GPU; this
  only says how busy the GPUs would look to DCGM;
* the busiest moment: a copy of every GPU's allocated share when the cluster's allocation was
  highest (the first such instant), for the heat map.

It reads the ClusterState only when its change counter moved, and then only what changed: the
nodes whose version moved (a released binding's node always does) and the bindings made since
(the state keeps bindings in the order they were made, so those are the tail of the dict).
An instant costs in proportion to what changed in it, not to the cluster or its pods.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gpuplane.cluster.binding import Binding
from gpuplane.cluster.state import ClusterState
from gpuplane.sharing import SharingKind
from gpuplane.sim.core.simulator import Simulator

FloatArray = npt.NDArray[np.float64]
_CAPPED = (SharingKind.MIG, SharingKind.MPS, SharingKind.VGPU)


@dataclass(frozen=True)
class Snapshot:
    """Every GPU's allocated share (0..1, NaN where a node has no such GPU) at one instant."""

    time: float
    nodes: tuple[str, ...]
    pools: tuple[str, ...]  # the pool of each node
    share: FloatArray  # (nodes, widest node's GPU count)
    healthy: npt.NDArray[np.bool_]


class Probe:
    """Integrates per-pool allocation and busy GPU, and keeps the busiest moment."""

    def __init__(
        self,
        state: ClusterState,
        node_pool: Sequence[int],
        pool_names: Sequence[str],
        utilization: Mapping[str, float],
        *,
        horizon: float,
        progress: Callable[[float], None] | None = None,
    ) -> None:
        self.state = state
        self.node_pool = np.asarray(node_pool, dtype=np.int64)
        self.pool_names = tuple(pool_names)
        self.utilization = utilization
        self.horizon = horizon
        self.progress = progress
        n, width = state.gpu_present.shape
        capped = np.zeros((n, width), dtype=np.bool_)
        for i, node in enumerate(state.nodes):
            for g in range(node.gpu_count):
                capped[i, g] = node.sharing.for_gpu(g).kind in _CAPPED
        self.capped = capped
        self.demand = np.zeros((n, width))  # busy milli-GPU wanted per GPU
        self.seen: dict[str, Binding] = {}
        # Where each seen binding stands in `seen`'s order, and the seen bindings per node:
        # a binding that went away is found on its node, and undone in `seen`'s order (the
        # float sums of `demand` then add up exactly as a scan of `seen` would).
        self._position: dict[str, int] = {}
        self._next_position = 0
        self._on_node: list[dict[str, Binding]] = [{} for _ in range(n)]
        self._node_version = np.full(n, -1, dtype=np.int64)
        self._node_used = np.zeros(n, dtype=np.int64)  # allocated milli-GPU per node
        self._pool_used = np.zeros(len(self.pool_names), dtype=np.int64)
        self._nodes = tuple(node.name for node in state.nodes)
        self._pools = tuple(self.pool_names[p] for p in self.node_pool)
        self.pool_milli = np.zeros(len(self.pool_names))
        self.busy_milli = 0.0
        #: Integrals in milli-GPU seconds.
        self.pool_integral = np.zeros(len(self.pool_names))
        self.busy_integral = 0.0
        self.last: float | None = None
        self.version = -1
        self.peak = -1
        self.busiest: Snapshot | None = None
        self._next_report = 0.0

    def __call__(self, sim: Simulator) -> None:
        now = sim.now
        if self.last is None or now > self.last:
            if self.last is not None:
                dt = now - self.last
                self.pool_integral += self.pool_milli * dt
                self.busy_integral += self.busy_milli * dt
            self.last = now
            self._report(now)
        if self.state.changes != self.version:
            self.version = self.state.changes
            self._refresh()

    def finish(self, end: float) -> None:
        """Integrate the last state up to `end` (the report's end)."""
        if self.last is not None and end > self.last:
            dt = end - self.last
            self.pool_integral += self.pool_milli * dt
            self.busy_integral += self.busy_milli * dt
            self.last = end
        if self.progress is not None:
            self.progress(1.0)

    def _report(self, now: float) -> None:
        if self.progress is None or now < self._next_report:
            return
        done = min(1.0, now / self.horizon) if self.horizon > 0 else 1.0
        self.progress(done)
        self._next_report = now + self.horizon / 100

    def _refresh(self) -> None:
        state = self.state
        current = state.bindings
        changed = np.flatnonzero(state.node_version != self._node_version)
        self._node_version[changed] = state.node_version[changed]
        gone = sorted(
            (self._position[key], key)
            for i in changed.tolist()
            for key in self._on_node[i]
            if key not in current
        )
        for _, key in gone:
            old = self.seen.pop(key)
            del self._position[key]
            del self._on_node[old.node][key]
            self._busy(old, -1.0)
        new: list[tuple[str, Binding]] = []
        for key in reversed(current):
            binding = current[key]
            if self.seen.get(key) is binding:
                break  # everything before it was made before the last look
            new.append((key, binding))
        for key, binding in reversed(new):
            before = self.seen.get(key)
            if before is not None:
                self._busy(before, -1.0)
                del self._on_node[before.node][key]
            else:
                self._position[key] = self._next_position
                self._next_position += 1
            self._busy(binding, 1.0)
            self.seen[key] = binding
            self._on_node[binding.node][key] = binding
        if changed.size:
            rows = np.where(state.gpu_present[changed], 1000 - state.gpu_free_milli[changed], 0)
            used = rows.sum(axis=1)
            np.add.at(self._pool_used, self.node_pool[changed], used - self._node_used[changed])
            self._node_used[changed] = used
        self.pool_milli = self._pool_used.astype(np.float64)
        self.busy_milli = float(np.minimum(self.demand, 1000.0).sum())
        total = int(self._pool_used.sum())
        if total > self.peak:
            self.peak = total
            used_all = np.where(state.gpu_present, 1000 - state.gpu_free_milli, 0)
            share = np.where(state.gpu_present, used_all / 1000.0, np.nan)
            self.busiest = Snapshot(
                time=float(self.last or 0.0),
                nodes=self._nodes,
                pools=self._pools,
                share=share,
                healthy=state.gpu_healthy.copy(),
            )

    def _busy(self, binding: Binding, sign: float) -> None:
        busy = 1000.0 * self.utilization.get(binding.pod, 1.0)
        i = binding.node
        for g, milli in zip(binding.gpus, binding.gpu_milli, strict=True):
            amount = min(busy, float(milli)) if self.capped[i, g] else busy
            self.demand[i, g] += sign * amount
