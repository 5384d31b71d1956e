"""The twin's probe, which reads only what changed, agrees with a full look at every instant."""

from __future__ import annotations

import numpy as np
import pytest

from gpuplane.sim.core.simulator import Simulator
from gpuplane.sim.twin.load import load_twin
from gpuplane.sim.twin.probe import Probe
from gpuplane.sim.twin.run_variants import variant_queueing, variant_simulator


class Checked(Probe):
    """A probe that, after each look, recomputes everything from all bindings and compares."""

    looks = 0
    released = 0
    before: frozenset[str] = frozenset()

    def __call__(self, sim: Simulator) -> None:
        super().__call__(sim)
        state = self.state
        self.released += len(self.before - state.bindings.keys())
        self.before = frozenset(state.bindings)
        assert self.seen == state.bindings
        demand = np.zeros_like(self.demand)
        for b in state.bindings.values():
            busy = 1000.0 * self.utilization.get(b.pod, 1.0)
            for g, milli in zip(b.gpus, b.gpu_milli, strict=True):
                demand[b.node, g] += min(busy, float(milli)) if self.capped[b.node, g] else busy
        assert np.allclose(self.demand, demand, rtol=0, atol=1e-6)
        used = np.where(state.gpu_present, 1000 - state.gpu_free_milli, 0).sum(axis=1)
        pools = np.bincount(self.node_pool, weights=used, minlength=len(self.pool_names))
        assert np.array_equal(self.pool_milli, pools)
        assert self.peak >= int(used.sum())
        self.looks += 1


@pytest.mark.parametrize("variant", ["time-slicing", "spot-training"])
def test_probe_matches_a_full_scan(variant):
    twin = load_twin(scale=0.15)
    setup = next(v for v in twin.variants if v.name == variant)
    queueing = variant_queueing(setup)
    busy = dict(setup.utilization)
    pod_busy = {p.key: busy[w.key] for w in setup.workloads if w.key in busy for p in w.pods()}
    probe = Checked(
        queueing.state,
        setup.node_pool,
        [p.name for p in setup.pools],
        pod_busy,
        horizon=setup.horizon,
    )
    sim = variant_simulator(setup, queueing, check=probe)
    sim.run(until=setup.horizon)
    assert probe.looks > 100
    assert probe.released > 20
    assert probe.busiest is not None
    assert probe.busiest.nodes == tuple(n.name for n in queueing.state.nodes)
